/// <reference types="vitest/config" />
// One HTML entry per surface; the build lands in ../api/ui_dist, which the API
// serves under /ui/ (api/webui.py). public/ holds the generated basemap
// (public/map/basemap.pmtiles, built by scripts/build_basemap.py).
import { cpSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, "../api/ui_dist");

/** Serve Swagger UI from our origin: /docs points at these files. */
function swaggerAssets(): Plugin {
  return {
    name: "rxd-swagger-ui-assets",
    apply: "build",
    closeBundle() {
      const from = resolve(here, "node_modules/swagger-ui-dist");
      const to = resolve(outDir, "vendor/swagger-ui");
      mkdirSync(to, { recursive: true });
      for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"]) {
        cpSync(resolve(from, name), resolve(to, name));
      }
    },
  };
}

/** The barcode reader's wasm from our origin (src/rider/scanner.ts), never a CDN. */
function zxingWasm(): Plugin {
  return {
    name: "rxd-zxing-wasm",
    apply: "build",
    closeBundle() {
      const to = resolve(outDir, "vendor/zxing");
      mkdirSync(to, { recursive: true });
      cpSync(resolve(here, "node_modules/zxing-wasm/dist/reader/zxing_reader.wasm"), resolve(to, "zxing_reader.wasm"));
      cpSync(resolve(here, "node_modules/zxing-wasm/LICENSE"), resolve(to, "LICENSE"));
    },
  };
}

/** The rider app's service worker keeps a fixed name: /ui/rider/sw.js (scope /ui/rider/). */
const SERVICE_WORKERS: Record<string, string> = { "rider-sw": "rider/sw.js" };

export default defineConfig({
  root: here,
  base: "/ui/",
  publicDir: "public",
  plugins: [swaggerAssets(), zxingWasm()],
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: {
        login: resolve(here, "login/index.html"),
        dispatcher: resolve(here, "dispatcher/index.html"),
        track: resolve(here, "track/index.html"),
        pharmacist: resolve(here, "pharmacist/index.html"),
        rider: resolve(here, "rider/index.html"),
        "rider-sw": resolve(here, "src/rider/sw.ts"),
      },
      output: {
        entryFileNames: (chunk) => SERVICE_WORKERS[chunk.name] ?? "assets/[name]-[hash].js",
      },
    },
  },
  server: {
    // `npm run dev` next to `rxdispatch serve` on :8000
    proxy: {
      "^/(auth|orders|riders|pharmacies|plans|products|holds|cold-boxes|excursions|dashboard|health|track|ui/config)": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
