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

export default defineConfig({
  root: here,
  base: "/ui/",
  publicDir: "public",
  plugins: [swaggerAssets()],
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
