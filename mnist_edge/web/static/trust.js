// The model card's calibrated confidence and "not a digit" rule, as mnist_edge/runtime/trust.py applies
// them, so the page answers what `mnist-edge predict` answers for the same picture: the probabilities
// are softmax(log p / T), and a digit is "not a digit" when their negative entropy is below the card's
// threshold or the 28×28 has a shape no digit has (more separate strokes, closed loops or strokes
// inside a loop than the card allows). A card without these fields (an older export) gives T = 1 and
// no rejection.

const SIDE = 28;
const STROKE_INK = 0.35; // a pixel of the 28×28 is ink above this
const MIN_STROKE_FRACTION = 0.1; // a stroke counts when it has this fraction of the largest stroke's pixels
const MIN_LOOP_PIXELS = 4; // a closed loop encloses at least this many paper pixels
const MIN_ISLAND_PIXELS = 3; // ink inside a loop counts when it has at least this many pixels
const NEAR_UNIFORM = 0.05; // nats: a reading whose entropy is this close to the uniform's (ln 10) is no digit

export function trustFromCard(card) {
  const calibration = (card && card.calibration) || {};
  const rejection = (card && card.rejection) || {};
  return {
    temperature: Number(calibration.temperature ?? 1),
    threshold: rejection.threshold ?? null,
    maxStrokes: rejection.max_strokes ?? null,
    maxLoops: rejection.max_loops ?? null,
    maxIslands: rejection.max_islands ?? null,
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

/** Σ p log p of calibrated probabilities: 0 for a certain answer, −ln 10 for a uniform one. */
function negativeEntropy(calibrated) {
  return calibrated.reduce((sum, p) => (p > 0 ? sum + p * Math.log(p) : sum), 0);
}

export function rejects(calibrated, pixels, trust) {
  if (trust.threshold !== null && negativeEntropy(calibrated) < trust.threshold) return true;
  const { strokes, loops, islands } = structure(pixels);
  const over = (count, limit) => limit !== null && count > limit;
  return over(strokes, trust.maxStrokes) || over(loops, trust.maxLoops) || over(islands, trust.maxIslands);
}

// trust.near_uniform: calibrated probabilities within NEAR_UNIFORM nats of the uniform distribution's entropy.
export function nearUniform(calibrated) {
  return negativeEntropy(calibrated) < NEAR_UNIFORM - Math.log(calibrated.length);
}

// Separate strokes (8-connected ink, specks under a tenth of the largest left out), closed loops
// (4-connected paper that does not reach the edge, at least MIN_LOOP_PIXELS) and islands (strokes of at
// least MIN_ISLAND_PIXELS that touch neither the edge nor paper reaching it) of a 28×28 input.
export function structure(pixels) {
  const ink = inkOf(pixels);
  const strokes = components(ink, 1, true);
  const paper = components(ink, 0, false);
  const largest = Math.max(0, ...strokes.map((c) => c.area));
  const loops = paper.filter((c) => !c.touchesEdge && c.area >= MIN_LOOP_PIXELS);
  const open = new Set();
  for (const c of paper.filter((c) => c.touchesEdge)) {
    for (const i of c.pixels) {
      const x = i % SIDE;
      for (const j of [i - SIDE, i + SIDE, x > 0 ? i - 1 : -1, x < SIDE - 1 ? i + 1 : -1]) {
        if (j >= 0 && j < ink.length && ink[j]) open.add(j);
      }
    }
  }
  const islands = strokes.filter(
    (c) => !c.touchesEdge && c.area >= MIN_ISLAND_PIXELS && !c.pixels.some((i) => open.has(i)),
  );
  return {
    strokes: strokes.filter((c) => c.area >= MIN_STROKE_FRACTION * largest).length,
    loops: loops.length,
    islands: islands.length,
  };
}

function inkOf(pixels) {
  return Uint8Array.from(pixels, (v) => (Math.fround(v) > STROKE_INK ? 1 : 0));
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
    const pixels = [];
    while (stack.length) {
      const i = stack.pop();
      area += 1;
      pixels.push(i);
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
    found.push({ area, touchesEdge, pixels });
  }
  return found;
}
