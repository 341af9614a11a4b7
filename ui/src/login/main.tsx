// The staff sign-in page: POST /auth/token, then on to the role's page.
import "../styles/base.css";
import "../styles/login.css";
import { useSignal } from "@preact/signals";
import { render } from "preact";
import { ApiError, api } from "../api/client";
import type { TokenRead } from "../api/types";
import { landingPage, loadSession, saveSession } from "../auth/session";
import { applyTheme, theme } from "../shared/theme";

applyTheme(theme.value);

function LoginPage() {
  const params = new URLSearchParams(window.location.search);
  const reason = params.get("reason");
  const next = params.get("next");
  const username = useSignal("");
  const password = useSignal("");
  const busy = useSignal(false);
  const error = useSignal<ApiError | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const token = await api<TokenRead>("/auth/token", {
        body: { username: username.value.trim(), password: password.value },
        auth: false,
      });
      saveSession({
        token: token.access_token,
        expiresAt: token.expires_at,
        role: token.role,
        username: username.value.trim().toLowerCase(),
      });
      window.location.assign(landingPage(token.role, next));
    } catch (caught) {
      error.value =
        caught instanceof ApiError ? caught : new ApiError(0, "Sign-in failed", String(caught), "client_error");
      password.value = "";
    } finally {
      busy.value = false;
    }
  }

  const current = loadSession();
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title" data-testid="login-form">
        <div class="brand" aria-hidden="true">
          <span class="brand-mark">Rx</span>
          <span>rxdispatch</span>
        </div>
        <h1 id="login-title">Staff sign-in</h1>
        {reason && !error.value && (
          <p class="notice" role="status" data-testid="login-reason">
            {reason}
          </p>
        )}
        {error.value && (
          <div class="problem" role="alert" data-testid="login-error">
            <strong>{error.value.title}</strong>
            {error.value.detail && <span>{error.value.detail}</span>}
          </div>
        )}
        {current && !reason && (
          <p class="notice">
            Signed in as {current.username}. <a href={landingPage(current.role, next)}>Continue</a>
          </p>
        )}
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          required
          autofocus
          value={username.value}
          onInput={(e) => (username.value = (e.target as HTMLInputElement).value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password.value}
          onInput={(e) => (password.value = (e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy.value}>
          {busy.value ? "Signing in…" : "Sign in"}
        </button>
        <p class="fineprint">Dispatchers, pharmacists and administrators. Riders sign in on their phone.</p>
      </form>
    </main>
  );
}

const root = document.getElementById("app");
if (root) render(<LoginPage />, root);
