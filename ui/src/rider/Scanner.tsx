// The camera view that reads a lot's barcode (optional: typing always works).
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { barcodeDetector } from "./scanner";

export function Scanner({ onRead }: { onRead: (value: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const problem = useSignal<string | null>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: number | undefined;
    let stopped = false;
    async function run() {
      const reader = barcodeDetector(); // loads while the camera starts
      reader.catch(() => undefined);
      if (!navigator.mediaDevices?.getUserMedia) {
        problem.value = "No camera here: type the lot code.";
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch {
        problem.value = "The camera is off or not allowed: type the lot code.";
        return;
      }
      if (stopped || !video.current) return;
      video.current.srcObject = stream;
      await video.current.play().catch(() => undefined);
      const detector = await reader.catch(() => null);
      if (detector === null) {
        problem.value = "The barcode reader did not load: type the lot code.";
        return;
      }
      const tick = async () => {
        if (stopped || !video.current) return;
        try {
          const [first] = await detector.detect(video.current);
          if (first?.rawValue) {
            onRead(first.rawValue.trim());
            return;
          }
        } catch {
          // a frame that could not be read: try the next one
        }
        timer = window.setTimeout(() => void tick(), 300);
      };
      void tick();
    }
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  return (
    <div class="scanner" data-testid="scanner">
      <video ref={video} muted playsInline aria-label="Camera view for the lot's barcode" />
      <p class="hint">Hold the lot's barcode in front of the camera.</p>
      {problem.value && (
        <p class="field-error" role="alert">
          {problem.value}
        </p>
      )}
    </div>
  );
}
