// The rider app's service worker (scope /ui/rider/, built to /ui/rider/sw.js).
// Install: keep the page and every asset it names (and the fonts its CSS
// names) so the app starts without network. Navigations: network first, the
// kept page when offline. Hashed assets: cache first. API calls are not
// touched: confirmations wait in the page's own queue, not here. A new build
// needs no new worker: the page is re-kept at every online visit and new
// hashed assets are kept as the page first loads them.
import { cssAssets, htmlAssets, isCachedAsset } from "./shell";

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
interface WorkerScope {
  readonly location: Location;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}

const scope = self as unknown as WorkerScope;
const CACHE = "rxd-rider-shell-v1";
const PAGE = "/ui/rider/";

async function keepShell(): Promise<void> {
  const cache = await caches.open(CACHE);
  const origin = scope.location.origin;
  const page = await fetch(PAGE, { cache: "no-cache" });
  if (!page.ok) throw new Error(`the rider page answered ${page.status}`);
  const html = await page.clone().text();
  await cache.put(PAGE, page);
  const assets = htmlAssets(html, origin);
  const more: string[] = [];
  await Promise.all(
    assets.map(async (url) => {
      const response = await fetch(url);
      if (!response.ok) return;
      if (url.endsWith(".css")) more.push(...cssAssets(await response.clone().text(), url));
      await cache.put(url, response);
    }),
  );
  await Promise.all(
    [...new Set(more)].map(async (url) => {
      const response = await fetch(url);
      if (response.ok) await cache.put(url, response);
    }),
  );
}

scope.addEventListener("install", (event) => {
  event.waitUntil(keepShell().then(() => scope.skipWaiting()));
});

scope.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("rxd-rider-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => scope.clients.claim()),
  );
});

async function pageFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(PAGE, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw error;
  }
}

async function assetFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request.url);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok && response.status === 200) await cache.put(request.url, response.clone());
  return response;
}

scope.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== scope.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith(PAGE)) {
    event.respondWith(pageFirst(request));
  } else if (isCachedAsset(url.pathname) && !request.headers.has("range")) {
    event.respondWith(assetFirst(request));
  }
});
