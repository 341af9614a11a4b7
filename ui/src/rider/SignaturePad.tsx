// The recipient signs with a finger; the strokes become a small SVG.
import { useRef } from "preact/hooks";
import { signatureSvg, type Stroke } from "./signature";

const WIDTH = 320;
const HEIGHT = 140;

export function SignaturePad({ id, onChange }: { id: string; onChange: (svg: string | null) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const strokes = useRef<[number, number][][]>([]);
  const drawing = useRef(false);

  const point = (event: PointerEvent): [number, number] => {
    const box = canvas.current!.getBoundingClientRect();
    return [((event.clientX - box.left) * WIDTH) / box.width, ((event.clientY - box.top) * HEIGHT) / box.height];
  };
  const draw = () => {
    const ctx = canvas.current?.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, WIDTH, HEIGHT);
    ctx.lineWidth = 2;
    ctx.lineCap = "round";
    ctx.strokeStyle = getComputedStyle(canvas.current!).color;
    for (const stroke of strokes.current) {
      ctx.beginPath();
      stroke.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
      ctx.stroke();
    }
  };
  const changed = () => onChange(signatureSvg(strokes.current as Stroke[], WIDTH, HEIGHT));

  return (
    <div class="signature">
      <span class="label" id={`${id}-label`}>
        Recipient's signature
      </span>
      <canvas
        ref={canvas}
        width={WIDTH}
        height={HEIGHT}
        role="img"
        aria-labelledby={`${id}-label`}
        onPointerDown={(e) => {
          drawing.current = true;
          (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
          strokes.current.push([point(e)]);
        }}
        onPointerMove={(e) => {
          if (!drawing.current) return;
          strokes.current[strokes.current.length - 1]?.push(point(e));
          draw();
        }}
        onPointerUp={() => {
          drawing.current = false;
          changed();
        }}
      />
      <button
        type="button"
        class="secondary"
        onClick={() => {
          strokes.current = [];
          draw();
          changed();
        }}
      >
        Clear signature
      </button>
    </div>
  );
}
