// Reading a lot's barcode with the camera: the BarcodeDetector polyfill
// (zxing-wasm) loaded on first use, its .wasm served by us from
// /ui/vendor/zxing/ (copied there by the build), never from a CDN.

export const ZXING_WASM_URL = "/ui/vendor/zxing/zxing_reader.wasm";

export interface Detector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}

let loading: Promise<Detector> | null = null;

/** The detector, its wasm fetched (and compiled) from our origin once per page. */
export function barcodeDetector(): Promise<Detector> {
  loading ??= import("barcode-detector/ponyfill").then(async (mod) => {
    await mod.prepareZXingModule({
      overrides: {
        locateFile: (path: string, prefix: string) => (path.endsWith(".wasm") ? ZXING_WASM_URL : prefix + path),
      },
      fireImmediately: true,
    });
    return new mod.BarcodeDetector({ formats: ["code_128", "qr_code", "data_matrix", "ean_13", "code_39"] });
  });
  loading.catch(() => (loading = null));
  return loading;
}
