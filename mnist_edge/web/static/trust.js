// The model card's calibrated confidence and "not a digit" rule, as mnist_edge/runtime/trust.py applies
// them, so the page answers what `mnist-edge predict` answers for the same picture: the probabilities
// are softmax(log p / T), and a digit is "not a digit" when their negative entropy is below the card's
// threshold or the 28×28 has more separate strokes or closed loops than the card allows. A card
// without these fields (an older export) gives T = 1 and no rejection.

const SIDE = 28;
const STROKE_INK = 0.35; // a pixel of the 28×28 is ink above this
const MIN_STROKE_FRACTION = 0.1; // a stroke counts when it has this fraction of the largest stroke's pixels
const MIN_LOOP_PIXELS = 4; // a closed loop encloses at least this many paper pixels

export function trustFromCard(card) {
  const calibration = (card && card.calibration) || {};
  const rejection = (card && card.rejection) || {};
  return {
    temperature: Number(calibration.temperature ?? 1),
    threshold: rejection.threshold ?? null,
    maxStrokes: rejection.max_strokes ?? null,
    maxLoops: rejection.max_loops ?? null,
  };
}

export function calibrate(probabilities, trust) {
  if (trust.temperature === 1) return probabilities.slice();
  const logits = probabilities.map((p) => Math.log(Math.max(p, 1e-45)) / trust.temperature);
  const top = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => Math.fround(e / total)); // float32, as the runtime's
}

export function rejects(calibrated, pixels, trust) {
  if (trust.threshold !== null) {
    const negEntropy = calibrated.reduce((sum, p) => (p > 0 ? sum + p * Math.log(p) : sum), 0);
    if (negEntropy < trust.threshold) return true;
  }
  if (trust.maxStrokes === null && trust.maxLoops === null) return false;
  const { strokes, loops } = structure(pixels);
  return (trust.maxStrokes !== null && strokes > trust.maxStrokes) || (trust.maxLoops !== null && loops > trust.maxLoops);
}

// Separate strokes (8-connected ink, specks under a tenth of the largest left out) and closed loops
// (4-connected paper that does not reach the edge, at least MIN_LOOP_PIXELS) of a 28×28 input.
export function structure(pixels) {
  const ink = Uint8Array.from(pixels, (v) => (Math.fround(v) > STROKE_INK ? 1 : 0));
  const strokes = components(ink, 1, true).map((c) => c.area);
  const largest = Math.max(0, ...strokes);
  const loops = components(ink, 0, false).filter((c) => !c.touchesEdge && c.area >= MIN_LOOP_PIXELS);
  return { strokes: strokes.filter((a) => a >= MIN_STROKE_FRACTION * largest).length, loops: loops.length };
}

function components(image, value, eightConnected) {
  const seen = new Uint8Array(image.length);
  const found = [];
  const steps = eightConnected
    ? [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]]
    : [[0, -1], [-1, 0], [1, 0], [0, 1]];
  for (let start = 0; start < image.length; start++) {
    if (image[start] !== value || seen[start]) continue;
    const stack = [start];
    seen[start] = 1;
    let area = 0;
    let touchesEdge = false;
    while (stack.length) {
      const i = stack.pop();
      area += 1;
      const x = i % SIDE;
      const y = (i - x) / SIDE;
      if (x === 0 || y === 0 || x === SIDE - 1 || y === SIDE - 1) touchesEdge = true;
      for (const [dx, dy] of steps) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= SIDE || ny >= SIDE) continue;
        const j = ny * SIDE + nx;
        if (image[j] === value && !seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    found.push({ area, touchesEdge });
  }
  return found;
}
