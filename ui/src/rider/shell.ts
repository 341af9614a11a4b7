// What the service worker keeps for the rider app to start without network:
// the page and every same-origin asset it names, and the fonts its CSS names.

/** Same-origin /ui/ asset URLs in an HTML page (scripts, styles, preloads, icons). */
export function htmlAssets(html: string, origin: string): string[] {
  const found = new Set<string>();
  for (const match of html.matchAll(/\s(?:src|href)="([^"]+)"/g)) {
    const url = sameOrigin(match[1] ?? "", origin, origin + "/");
    if (url && new URL(url).pathname.startsWith("/ui/")) found.add(url);
  }
  return [...found];
}

/** Same-origin URLs in a stylesheet's url(...) references, resolved against it. */
export function cssAssets(css: string, cssUrl: string): string[] {
  const origin = new URL(cssUrl).origin;
  const found = new Set<string>();
  for (const match of css.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) {
    const ref = match[1] ?? "";
    if (ref.startsWith("data:")) continue;
    const url = sameOrigin(ref, origin, cssUrl);
    if (url && !url.endsWith(".woff")) found.add(url);
  }
  return [...found];
}

function sameOrigin(ref: string, origin: string, base: string): string | null {
  try {
    const url = new URL(ref, base);
    return url.origin === origin ? url.href : null;
  } catch {
    return null;
  }
}

/** Whether the worker answers this GET from its cache first (immutable hashed files). */
export function isCachedAsset(pathname: string): boolean {
  return pathname.startsWith("/ui/assets/") || pathname.startsWith("/ui/vendor/zxing/");
}
