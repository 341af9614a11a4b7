// Light/dark: the user's choice (localStorage) or the system's preference.
import { signal } from "@preact/signals";

export type Theme = "light" | "dark";
const KEY = "rxd.theme";

function initialTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const theme = signal<Theme>(initialTheme());

export function applyTheme(value: Theme): void {
  document.documentElement.dataset.theme = value;
  document.documentElement.style.colorScheme = value;
}

export function toggleTheme(): void {
  theme.value = theme.value === "dark" ? "light" : "dark";
  localStorage.setItem(KEY, theme.value);
}

theme.subscribe(applyTheme);
