// A minimal stand-in for the JS port of mnist_edge/runtime/preprocess.py (branch web-preprocess
// replaces this file). Same API: preprocessImageData(imageData) ->
//   {pixels: Float32Array(784) in [0, 1] | null, box: [x0, y0, x1, y1] | null, reason: string | null}
// What it does, like runtime/normalize.py's whole_picture_digit: gray (over white) -> ink is the
// side away from the paper (the border's median) -> contrast stretched between paper and ink ->
// bounding box of the ink -> longer side to 20 px (area average) -> centred by mass in 28x28.

const SIDE = 28;
const BOX = 20;
const MIN_CONTRAST = 0.1; // darkest ink less than this far from the paper: no digit
const INK = 0.3; // a pixel at least this inky belongs to the digit's box

export function preprocessImageData(imageData) {
  const { width: w, height: h, data } = imageData;
  const ink = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const a = data[4 * i + 3] / 255;
    const gray = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
    ink[i] = gray * a + (1 - a); // over white paper
  }
  const paper = median(border(ink, w, h));
  const light = paper > 0.5;
  let top = 0;
  for (let i = 0; i < ink.length; i++) {
    const v = light ? 1 - ink[i] : ink[i];
    ink[i] = v;
    if (v > top) top = v;
  }
  const level = light ? 1 - paper : paper;
  if (top - level < MIN_CONTRAST) return { pixels: null, box: null, reason: "no digit: the picture is blank" };
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.min(1, Math.max(0, (ink[y * w + x] - level) / (top - level)));
      ink[y * w + x] = v;
      if (v > INK) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { pixels: null, box: null, reason: "no digit: no ink found" };
  const cw = x1 - x0 + 1, ch = y1 - y0 + 1;
  const crop = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const v = ink[(y0 + y) * w + x0 + x];
      crop[y * cw + x] = v > INK / 2 ? v : 0;
    }
  }
  const s = BOX / Math.max(cw, ch);
  const sw = Math.max(1, Math.round(cw * s)), sh = Math.max(1, Math.round(ch * s));
  const small = resizeArea(crop, cw, ch, sw, sh);
  return { pixels: centreByMass(small, sw, sh), box: [x0, y0, x1 + 1, y1 + 1], reason: null };
}

function border(v, w, h) {
  const out = [];
  for (let x = 0; x < w; x++) out.push(v[x], v[(h - 1) * w + x]);
  for (let y = 1; y < h - 1; y++) out.push(v[y * w], v[y * w + w - 1]);
  return out;
}

function median(values) {
  const sorted = Float32Array.from(values).sort();
  return sorted.length ? sorted[sorted.length >> 1] : 0;
}

// Area averaging, one axis then the other: each output pixel is the mean of the input it covers.
function resizeArea(src, w, h, nw, nh) {
  const rows = new Float32Array(nw * h);
  for (let y = 0; y < h; y++) {
    for (let j = 0; j < nw; j++) rows[y * nw + j] = areaMean((i) => src[y * w + i], w, nw, j);
  }
  const out = new Float32Array(nw * nh);
  for (let x = 0; x < nw; x++) {
    for (let j = 0; j < nh; j++) out[j * nw + x] = areaMean((i) => rows[i * nw + x], h, nh, j);
  }
  return out;
}

// The mean of samples get(0..n-1) over output cell j of m, counting partly covered samples by their overlap.
function areaMean(get, n, m, j) {
  const scale = n / m, a = j * scale, b = (j + 1) * scale;
  let sum = 0;
  for (let k = Math.floor(a); k < Math.min(n, Math.ceil(b)); k++) sum += (Math.min(b, k + 1) - Math.max(a, k)) * get(k);
  return sum / scale;
}

function centreByMass(small, w, h) {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.min(1, Math.max(0, small[y * w + x]));
      small[y * w + x] = v;
      m += v;
      mx += v * x;
      my += v * y;
    }
  }
  const cx = m > 0 ? mx / m : (w - 1) / 2, cy = m > 0 ? my / m : (h - 1) / 2;
  const left = Math.min(Math.max(Math.round((SIDE - 1) / 2 - cx), 0), SIDE - w);
  const top = Math.min(Math.max(Math.round((SIDE - 1) / 2 - cy), 0), SIDE - h);
  const field = new Float32Array(SIDE * SIDE);
  let peak = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      field[(top + y) * SIDE + left + x] = v;
      if (v > peak) peak = v;
    }
  }
  if (peak > 0) for (let i = 0; i < field.length; i++) field[i] /= peak;
  return field;
}
