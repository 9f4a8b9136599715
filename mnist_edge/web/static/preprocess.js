// The runtime's picture preprocessing (mnist_edge/runtime: decode → locate → normalize → preprocess)
// in one dependency-free ES module, for the page and for Node.
//
//   preprocessImageData(imageData) -> {pixels: Float32Array(784) | null, box: [x0, y0, x1, y1] | null,
//                                      reason: string | null, whole, tiny: too small for the card's threshold}
//
// imageData is a canvas ImageData or any {data: RGBA bytes, width, height}. Each function below names the
// Python function it ports; constants carry the Python names. Where OpenCV or numpy round in a particular
// way (Pillow's gray, cv2 INTER_AREA tables, Python's round half to even, float32 arithmetic) the port does
// the same, so that on MNIST-style digits the tensors agree with Python's to float32 precision (OpenCV's
// cubic enlargement of a tiny picture within one gray level: OpenCV's wheels hand it to Intel IPP). Big
// pictures are treated as Python treats a JPEG: the "fine" image is the picture reduced by the JPEG
// draft scale (libjpeg's 1/2, 1/4, 1/8) and a finer view is a smaller reduction of the decoded pixels.

export const SIDE = 28;

// decode.py
const WORK_MIN_SHORT = 200;
const MAX_DRAFT = 8;
const MIN_CONTRAST = 16;
// locate.py
const PAPER_KERNEL = 0.12;
const MIN_PEAK_INK = 40;
const INK_FRACTION = 0.4;
const MIN_INK = 30;
const SMOOTH_MIN_SIDE = 100;
const STROKE_GAP = 0.015;
const BIG_DIGIT = 0.35;
const ROW_ASPECT = 1.5;
const BROKEN_STROKE_GAP = 0.35;
const BROKEN_STROKE_WEIGHT = 0.08;
const DIGIT_MAX_SIZE = 0.5;
const FRAME_INNER = 0.5;
const EVEN_PAPER = 6;
const EVEN_TAILS = 12;
const STROKE_KERNEL = 3;
const MAX_STROKE = 0.2;
const LARGE_ROW_HEIGHT = 0.1;
const LINE_LENGTH = 0.25;
const LINE_STRAIGHTNESS = 0.25;
const LINE_THINNESS = 0.08;
// normalize.py
const DIGIT_BOX = 20;
const WIDTH_SCALE = 40;
const MNIST_STROKE = 4.9;
const THIN = 0.65;
const THICK = 1.5;
const INK_LEVEL = 0.35;
const TINY_PICTURE = 24;
const TINY_ENLARGED = 32;
const BLOCKY_MAX = 2048;
// preprocess.py
const CROP_FROM_WORKING_PX = 32;
const MIN_SOURCE_PX = 16;
const WHOLE_PICTURE_PX = 64;
const TOO_SMALL_TO_JUDGE = 12; // preprocess.TOO_SMALL_TO_JUDGE: only a nearly uniform reading is "not a digit"
const FILLED_PIECE = 0.25;
const FILLED_SPAN = 0.6;
const FILLED_ASPECT = 1.2;
const FILLED_BEST = 0.8;
const FILLED_BORDER = 0.3;
const FILLED_INSIDE = 0.8;
const FILLED_PART = 0.4;
const CROP_MARGIN = 0.5;
const SMOOTH_MIN_DIGIT = 40;

export const BLANK = "no digit found (blank image)";
export const NOT_FOUND = "no digit found";

const f32 = Math.fround;

/** Python's round(): to nearest, ties to even (also OpenCV's cvRound and numpy's round). */
export function roundHalfEven(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** An image: {w, h, data} with data a Uint8Array (gray) or Float32Array, row-major. */
function image(w, h, data) {
  return { w, h, data };
}

// ---------------------------------------------------------------- decode.py (after decoding)

/** Whether every pixel is opaque (then gray is Pillow's "L", as Python reads a picture without alpha). */
export function isOpaque({ data }) {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/** OpenCV's RGB2GRAY of one RGBA pixel (15-bit fixed point). */
function rgbToGray(data, p) {
  return (data[p] * 9798 + data[p + 1] * 19235 + data[p + 2] * 3735 + 16384) >> 15;
}

/**
 * decode._over_white's choice of paper for a picture with transparency: 255 (white), or 0 (black) when on
 * white the picture is blank (a spread under MIN_CONTRAST) and its alpha channel is not (light ink drawn
 * on a transparent canvas for a dark page).
 */
export function paperOf(imageData) {
  const { data } = imageData;
  let [low, high, alphaLow, alphaHigh] = [255, 0, 255, 0];
  for (let p = 0; p < data.length; p += 4) {
    const a = data[p + 3];
    const v = Math.floor((rgbToGray(data, p) * a + 255 * (255 - a) + 127) / 255);
    if (v < low) low = v;
    if (v > high) high = v;
    if (high - low >= MIN_CONTRAST) return 255; // visible on white: no need to look further
    if (a < alphaLow) alphaLow = a;
    if (a > alphaHigh) alphaHigh = a;
  }
  return alphaHigh - alphaLow < MIN_CONTRAST ? 255 : 0;
}

/**
 * RGBA → 8-bit gray like decode._gray_of, reduced by a whole factor `s` (the mean of each s×s block, as
 * OpenCV's INTER_AREA rounds it), only for the pixels [x0, x1) × [y0, y1) of the reduced picture: a big
 * photo never exists as a full-size gray array. `paper` null (opaque pictures): Pillow's "L" (ITU-R 601-2
 * luma in 16-bit fixed point, rounded); with transparency: OpenCV's RGB2GRAY composited on `paper`
 * (255 or 0, paperOf: decode._over_white).
 */
export function grayRegion(imageData, paper, s, x0, y0, x1, y1) {
  const { data, width } = imageData;
  const rw = x1 - x0;
  const out = new Uint8Array(rw * (y1 - y0));
  const acc = new Uint32Array(rw);
  for (let y = y0; y < y1; y++) {
    acc.fill(0);
    for (let j = 0; j < s; j++) {
      let p = ((y * s + j) * width + x0 * s) * 4;
      for (let x = 0; x < rw; x++) {
        let sum = 0;
        for (let i = 0; i < s; i++, p += 4) {
          if (paper === null) {
            sum += (data[p] * 19595 + data[p + 1] * 38470 + data[p + 2] * 7471 + 0x8000) >> 16;
          } else {
            const a = data[p + 3];
            sum += Math.floor((rgbToGray(data, p) * a + paper * (255 - a) + 127) / 255);
          }
        }
        acc[x] += sum;
      }
    }
    const row = (y - y0) * rw;
    for (let x = 0; x < rw; x++) out[row + x] = s === 1 ? acc[x] : blockMean(acc[x], s, s);
  }
  return image(rw, y1 - y0, out);
}

/** The paper a picture is composited on: null when it is opaque, else paperOf's. */
function paperFor(imageData) {
  return isOpaque(imageData) ? null : paperOf(imageData);
}

/** The whole picture as 8-bit gray (decode._gray_of). */
export function grayOf(imageData) {
  return grayRegion(imageData, paperFor(imageData), 1, 0, 0, imageData.width, imageData.height);
}

/** OpenCV's INTER_AREA value of a kx×ky block of 8-bit pixels from their sum. */
function blockMean(sum, kx, ky) {
  return kx === 2 && ky === 2 ? (sum + 2) >> 2 : Math.min(255, roundHalfEven(f32(sum * f32(1 / (kx * ky)))));
}

/** The largest power of two (at most MAX_DRAFT) that keeps the short side at least WORK_MIN_SHORT. */
function halvings(w, h, limit = Infinity) {
  let k = 1;
  while (k < limit && Math.floor(Math.min(w, h) / (k * 2)) >= WORK_MIN_SHORT) k *= 2;
  return k;
}

/** decode._reduce: halve (by area) while the short side stays at least WORK_MIN_SHORT. */
export function reduce(gray) {
  const k = halvings(gray.w, gray.h);
  return k === 1 ? gray : reduceBy(gray, k);
}

function reduceBy(gray, k) {
  return resizeArea(gray, Math.floor(gray.w / k), Math.floor(gray.h / k));
}

/** A view of an image in memory: its size, and any region of it on demand. */
function viewOf(img) {
  return { w: img.w, h: img.h, img, region: (x0, y0, x1, y1) => crop(img, x0, y0, x1, y1) };
}

/**
 * decode.Picture: the working image `gray` at `scale` picture pixels per pixel; `fine`, the image a digit
 * is cropped from; `view(s)`, the picture reduced by s, for a finer look at a small digit.
 *
 * From a gray image (`full`): `fine` is the picture at the JPEG draft scale Python would decode it at, or,
 * with draft false, the whole picture (as Python decodes a PNG).
 */
export function makePicture(full, { draft: asJpeg = true } = {}) {
  const draft = asJpeg ? halvings(full.w, full.h, MAX_DRAFT) : 1;
  const fine = draft === 1 ? full : reduceBy(full, draft);
  const view = (s) => viewOf(s === 1 ? full : reduceBy(full, s));
  return picture(fine, [full.w, full.h], view);
}

/**
 * decode.Picture from RGBA, as Python reads a JPEG: `fine` at the draft scale (1/2, 1/4 or 1/8), the finer
 * views computed from the RGBA pixels, region by region, when a small digit needs them.
 */
export function pictureOf(imageData) {
  const { width: w, height: h } = imageData;
  const paper = paperFor(imageData);
  const whole = (s) => w % s === 0 && h % s === 0;
  let full = null;
  const fullGray = () => (full ??= grayRegion(imageData, paper, 1, 0, 0, w, h));
  const view = (s) => {
    if (!whole(s)) return viewOf(reduceBy(fullGray(), s));
    const region = (x0, y0, x1, y1) => grayRegion(imageData, paper, s, x0, y0, x1, y1);
    return { w: w / s, h: h / s, region };
  };
  const draft = halvings(w, h, MAX_DRAFT);
  const fine = whole(draft) ? grayRegion(imageData, paper, draft, 0, 0, w / draft, h / draft) : null;
  return picture(fine ?? reduceBy(fullGray(), draft), [w, h], view);
}

function picture(fine, size, view) {
  const gray = reduce(fine);
  return { fine, gray, size, scale: size[0] / gray.w, fineScale: size[0] / fine.w, view };
}

/** decode.Picture.finer: [a view at least `factor` times finer than the working image, its scale]. */
function finer(picture, factor) {
  if (picture.scale / picture.fineScale >= factor || picture.fineScale <= 1) {
    return [viewOf(picture.fine), picture.fineScale];
  }
  const target = Math.max(1, picture.scale / factor);
  let s = 1;
  while (s * 2 <= target && s < MAX_DRAFT) s *= 2;
  const view = picture.view(s);
  return [view, picture.size[0] / view.w];
}

// ---------------------------------------------------------------- OpenCV equivalents

/** cv2.resize INTER_AREA (down-scaling): whole-factor box means, else OpenCV's fractional area tables. */
export function resizeArea(src, dw, dh) {
  const { w, h, data } = src;
  const u8 = data instanceof Uint8Array;
  if (dw === w && dh === h) return image(w, h, data.slice());
  const out = u8 ? new Uint8Array(dw * dh) : new Float32Array(dw * dh);
  if (w % dw === 0 && h % dh === 0) {
    const kx = w / dw;
    const ky = h / dh;
    const inv = f32(1 / (kx * ky));
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        let sum = 0;
        for (let j = 0; j < ky; j++) {
          const row = (y * ky + j) * w + x * kx;
          for (let i = 0; i < kx; i++) sum += data[row + i];
        }
        out[y * dw + x] = u8 ? blockMean(sum, kx, ky) : sum * inv;
      }
    }
    return image(dw, dh, out);
  }
  const xt = areaTable(w, dw);
  const yt = areaTable(h, dh);
  const buf = new Float64Array(dw);
  const sum = new Float64Array(dw);
  let k = 0;
  for (let dy = 0; dy < dh; dy++) {
    sum.fill(0);
    for (; k < yt.di.length && yt.di[k] === dy; k++) {
      buf.fill(0);
      const row = yt.si[k] * w;
      for (let t = 0; t < xt.di.length; t++) buf[xt.di[t]] += data[row + xt.si[t]] * xt.alpha[t];
      const beta = yt.alpha[k];
      for (let x = 0; x < dw; x++) sum[x] += beta * buf[x];
    }
    for (let x = 0; x < dw; x++) {
      out[dy * dw + x] = u8 ? Math.min(255, Math.max(0, roundHalfEven(sum[x]))) : sum[x];
    }
  }
  return image(dw, dh, out);
}

/** OpenCV's computeResizeAreaTab: which source pixels (si) feed each destination pixel (di), with weights. */
function areaTable(ssize, dsize) {
  const scale = 1 / (dsize / ssize);
  const di = [];
  const si = [];
  const alpha = [];
  const push = (d, s, a) => {
    di.push(d);
    si.push(s);
    alpha.push(f32(a));
  };
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cell = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1);
    const sx2 = Math.min(Math.floor(fsx2), ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) push(dx, sx1 - 1, (sx1 - fsx1) / cell);
    for (let sx = sx1; sx < sx2; sx++) push(dx, sx, 1 / cell);
    if (fsx2 - sx2 > 1e-3) push(dx, sx2, Math.min(Math.min(fsx2 - sx2, 1), cell) / cell);
  }
  return { di, si, alpha };
}

/**
 * cv2.resize INTER_LINEAR (pixel centres aligned, edges clamped). Gray images in OpenCV's fixed point:
 * 11-bit weights, rows then columns, the columns rounded as its vector code does.
 */
export function resizeLinear(src, dw, dh) {
  const { w, h, data } = src;
  const u8 = data instanceof Uint8Array;
  if (dw === w && dh === h) return image(w, h, data.slice());
  const xs = linearTable(w, dw);
  const ys = linearTable(h, dh);
  const out = u8 ? new Uint8Array(dw * dh) : new Float32Array(dw * dh);
  let rows = null; // gray: each source row resized along x once, in fixed point
  if (u8) {
    rows = new Int32Array(h * dw);
    for (let y = 0; y < h; y++) {
      const r = y * w;
      for (let x = 0; x < dw; x++) rows[y * dw + x] = data[r + xs.i0[x]] * xs.fixed0[x] + data[r + xs.i1[x]] * xs.fixed1[x];
    }
  }
  for (let y = 0; y < dh; y++) {
    const r0 = ys.i0[y] * w;
    const r1 = ys.i1[y] * w;
    if (u8) {
      const [s0, s1, b0, b1] = [ys.i0[y] * dw, ys.i1[y] * dw, ys.fixed0[y], ys.fixed1[y]];
      for (let x = 0; x < dw; x++) {
        const v = (((rows[s0 + x] >> 4) * b0) >> 16) + (((rows[s1 + x] >> 4) * b1) >> 16) + 2;
        out[y * dw + x] = Math.min(255, Math.max(0, v >> 2));
      }
      continue;
    }
    const b = ys.f[y];
    for (let x = 0; x < dw; x++) {
      const a = xs.f[x];
      const top = data[r0 + xs.i0[x]] * (1 - a) + data[r0 + xs.i1[x]] * a;
      const bottom = data[r1 + xs.i0[x]] * (1 - a) + data[r1 + xs.i1[x]] * a;
      out[y * dw + x] = top * (1 - b) + bottom * b;
    }
  }
  return image(dw, dh, out);
}

/** A weight in OpenCV's 11-bit fixed point. */
function fixed(weight) {
  return roundHalfEven(f32(weight) * 2048);
}

function linearTable(ssize, dsize) {
  const scale = ssize / dsize;
  const i0 = new Int32Array(dsize);
  const i1 = new Int32Array(dsize);
  const f = new Float32Array(dsize);
  const fixed0 = new Int32Array(dsize);
  const fixed1 = new Int32Array(dsize);
  for (let d = 0; d < dsize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      sx = 0;
      fx = 0;
    }
    if (sx >= ssize - 1) {
      sx = ssize - 1;
      fx = 0;
    }
    i0[d] = sx;
    i1[d] = Math.min(sx + 1, ssize - 1);
    f[d] = fx;
    fixed0[d] = fixed(1 - fx);
    fixed1[d] = fixed(fx);
  }
  return { i0, i1, f, fixed0, fixed1 };
}

/**
 * cv2.resize INTER_CUBIC of 8-bit gray (here only to enlarge): OpenCV's own code (A = -0.75, float32
 * coefficients rounded to 11-bit weights, rows along x in integers, then columns rounded from 22 bits;
 * edges replicated). OpenCV's wheels run Intel IPP's cubic instead, which rounds ≈ 0.5 % of pixels one
 * gray level apart from this (with cv2.ipp.setUseIPP(False), 8 of 236,638 on random arrays).
 */
export function resizeCubic(src, dw, dh) {
  const { w, h, data } = src;
  const xs = cubicTable(w, dw);
  const ys = cubicTable(h, dh);
  const rows = new Int32Array(h * dw);
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0, t = 0; x < dw; x++, t += 4) {
      rows[y * dw + x] =
        data[r + xs.index[t]] * xs.weight[t] +
        data[r + xs.index[t + 1]] * xs.weight[t + 1] +
        data[r + xs.index[t + 2]] * xs.weight[t + 2] +
        data[r + xs.index[t + 3]] * xs.weight[t + 3];
    }
  }
  const out = new Uint8Array(dw * dh);
  for (let y = 0, t = 0; y < dh; y++, t += 4) {
    const [r0, r1, r2, r3] = [0, 1, 2, 3].map((j) => ys.index[t + j] * dw);
    const [b0, b1, b2, b3] = ys.weight.subarray(t, t + 4);
    for (let x = 0; x < dw; x++) {
      const v = rows[r0 + x] * b0 + rows[r1 + x] * b1 + rows[r2 + x] * b2 + rows[r3 + x] * b3;
      out[y * dw + x] = Math.min(255, Math.max(0, Math.floor((v + (1 << 21)) / (1 << 22))));
    }
  }
  return image(dw, dh, out);
}

/** OpenCV's cubic table: for each destination pixel, its four source pixels (clamped) and 11-bit weights. */
function cubicTable(ssize, dsize) {
  const scale = 1 / (dsize / ssize);
  const index = new Int32Array(4 * dsize);
  const weight = new Int32Array(4 * dsize);
  const A = f32(-0.75);
  for (let d = 0; d < dsize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    fx = f32(fx - sx);
    const x1 = f32(fx + 1);
    const c0 = f32(f32(f32(f32(f32(f32(A * x1) - f32(5 * A)) * x1) + f32(8 * A)) * x1) - f32(4 * A));
    const c1 = f32(f32(f32(f32(f32(f32(A + 2) * fx) - f32(A + 3)) * fx) * fx) + 1);
    const gx = f32(1 - fx);
    const c2 = f32(f32(f32(f32(f32(f32(A + 2) * gx) - f32(A + 3)) * gx) * gx) + 1);
    const c3 = f32(f32(f32(1 - c0) - c1) - c2);
    [c0, c1, c2, c3].forEach((c, j) => {
      index[4 * d + j] = Math.min(ssize - 1, Math.max(0, sx - 1 + j));
      weight[4 * d + j] = roundHalfEven(f32(c * 2048));
    });
  }
  return { index, weight };
}

/**
 * Max (dilate) or min (erode) over a kx×ky rectangle centred on each pixel, edges replicated (for these
 * filters the same as leaving out what lies beyond the edge). Rows then columns, each line with van Herk /
 * Gil–Werman block maxima: a few operations per pixel whatever the kernel size.
 */
export function rectFilter(src, kx, ky, useMax) {
  const { w, h, data } = src;
  const tmp = new data.constructor(w * h);
  const out = new data.constructor(w * h);
  const longest = Math.max(w, h) + Math.max(kx, ky);
  const line = new Float64Array(longest);
  const fwd = new Float64Array(longest);
  const back = new Float64Array(longest);
  for (let y = 0; y < h; y++) filterLine(data, tmp, y * w, 1, w, kx, useMax, line, fwd, back);
  if (ky > SMALL_KERNEL) {
    for (let x = 0; x < w; x++) filterLine(tmp, out, x, w, h, ky, useMax, line, fwd, back);
    return image(w, h, out);
  }
  const r = ky >> 1; // a small kernel: whole rows at a time (what the cache likes)
  for (let y = 0; y < h; y++) {
    const o = y * w;
    out.set(tmp.subarray(o, o + w), o);
    for (let j = Math.max(0, y - r); j <= Math.min(h - 1, y + ky - 1 - r); j++) {
      const q = j * w;
      if (useMax) for (let x = 0; x < w; x++) out[o + x] = out[o + x] > tmp[q + x] ? out[o + x] : tmp[q + x];
      else for (let x = 0; x < w; x++) out[o + x] = out[o + x] < tmp[q + x] ? out[o + x] : tmp[q + x];
    }
  }
  return image(w, h, out);
}

const SMALL_KERNEL = 7; // up to this size a kernel is applied directly, beyond it in block maxima

function filterLine(src, dst, start, stride, n, k, useMax, line, fwd, back) {
  if (k <= SMALL_KERNEL) {
    const r = k >> 1;
    for (let i = 0; i < n; i++) {
      let v = src[start + i * stride];
      for (let j = Math.max(0, i - r); j <= Math.min(n - 1, i + k - 1 - r); j++) {
        const u = src[start + j * stride];
        v = useMax ? (u > v ? u : v) : u < v ? u : v;
      }
      dst[start + i * stride] = v;
    }
    return;
  }
  const r = k >> 1;
  const len = n + k - 1; // the line with r (left) and k - 1 - r (right) edge copies
  const sign = useMax ? 1 : -1; // min(a, b) = -max(-a, -b): one code path
  const first = sign * src[start];
  const last = sign * src[start + (n - 1) * stride];
  for (let i = 0; i < r; i++) line[i] = first;
  for (let i = 0; i < n; i++) line[r + i] = sign * src[start + i * stride];
  for (let i = r + n; i < len; i++) line[i] = last;
  for (let i = 0, b = 0; i < len; i++, b++) {
    if (b === k) b = 0;
    const v = line[i];
    fwd[i] = b === 0 || v > fwd[i - 1] ? v : fwd[i - 1];
  }
  back[len - 1] = line[len - 1];
  for (let i = len - 2; i >= 0; i--) {
    const v = line[i];
    back[i] = (i + 1) % k === 0 || v > back[i + 1] ? v : back[i + 1];
  }
  for (let i = 0; i < n; i++) {
    const a = back[i];
    const b = fwd[i + k - 1];
    dst[start + i * stride] = sign * (a > b ? a : b);
  }
}

/** cv2.getStructuringElement(MORPH_ELLIPSE, (size, size)) as a list of [dx, dy] offsets from the centre. */
function ellipseOffsets(size) {
  const r = size >> 1;
  const c = size >> 1;
  const invR2 = r ? 1 / (r * r) : 0;
  const offsets = [];
  for (let i = 0; i < size; i++) {
    const dy = i - r;
    const dx = roundHalfEven(c * Math.sqrt((r * r - dy * dy) * invR2));
    for (let j = Math.max(c - dx, 0); j < Math.min(c + dx + 1, size); j++) offsets.push([j - c, dy]);
  }
  return offsets;
}

/** Dilate (max) or erode (min) a float image with an elliptic kernel; pixels beyond the edge are left out. */
function ellipseFilter(src, size, useMax) {
  const { w, h, data } = src;
  const offsets = ellipseOffsets(size);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = useMax ? -Infinity : Infinity;
      for (const [dx, dy] of offsets) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const p = data[yy * w + xx];
        v = useMax ? Math.max(v, p) : Math.min(v, p);
      }
      out[y * w + x] = v;
    }
  }
  return image(w, h, out);
}

const NINTHS = Uint8Array.from({ length: 9 * 255 + 1 }, (_, sum) => Math.round(sum / 9)); // never a tie

/** cv2.blur(gray, (3, 3)): the rounded 3×3 mean, edges mirrored without repeating the edge pixel. */
export function blur3(src) {
  const { w, h, data } = src;
  const mirror = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const rows = new Uint16Array(w * h); // sums of three pixels along each row
  for (let y = 0; y < h; y++) {
    const o = y * w;
    rows[o] = data[o + mirror(-1, w)] + data[o] + data[o + mirror(1, w)];
    for (let x = 1; x < w - 1; x++) rows[o + x] = data[o + x - 1] + data[o + x] + data[o + x + 1];
    if (w > 1) rows[o + w - 1] = data[o + mirror(w - 2, w)] + data[o + w - 1] + data[o + mirror(w, w)];
  }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = mirror(y - 1, h) * w;
    const down = mirror(y + 1, h) * w;
    const o = y * w;
    for (let x = 0; x < w; x++) out[o + x] = NINTHS[rows[up + x] + rows[o + x] + rows[down + x]];
  }
  return image(w, h, out);
}

function maxOf(data) {
  let m = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > m) m = data[i];
  return m;
}

// ---------------------------------------------------------------- locate.py

/** locate.percentiles: the first gray level whose cumulative share (a float32) reaches each quantile. */
export function percentiles(gray, quantiles) {
  const hist = new Float64Array(256);
  for (let i = 0; i < gray.data.length; i++) hist[gray.data[i]]++;
  const total = Math.max(gray.data.length, 1);
  return quantiles.map((q) => {
    let c = 0;
    for (let v = 0; v < 256; v++) {
      c += hist[v];
      if (f32(c / total) >= q) return v;
    }
    return 256;
  });
}

function inverted(gray) {
  const out = new Uint8Array(gray.data.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - gray.data[i];
  return image(gray.w, gray.h, out);
}

/** locate.ink_map: [ink (0 paper … 255 black on white), whether the ink is dark]. */
export function inkMap(gray, kernel, dark = null) {
  const { w, h } = gray;
  const f = Math.min(h, w) >= 64 ? 4 : 1;
  let small = f > 1 ? resizeArea(gray, Math.max(1, Math.floor(w / f)), Math.max(1, Math.floor(h / f))) : gray;
  if (dark === null) {
    const [p01, p50, p99] = percentiles(small, [0.01, 0.5, 0.99]);
    dark = Math.max(p50 - p01, p99 - p50) >= EVEN_TAILS ? p50 - p01 >= p99 - p50 : inkSide(gray, p50);
  }
  if (!dark) {
    gray = inverted(gray);
    small = inverted(small);
  }
  const k = Math.max(3, Math.floor(kernel / f) | 1);
  let closed = rectFilter(rectFilter(small, k, k, true), k, k, false);
  const paperLevel = Math.max(percentiles(closed, [0.95])[0] >> 1, 1);
  if (f > 1) closed = resizeLinear(closed, w, h);
  const ink = new Uint8Array(w * h);
  const ratio = ratioTable();
  for (let i = 0; i < ink.length; i++) {
    const g = gray.data[i];
    const c = Math.max(closed.data[i], g);
    ink[i] = ratio[Math.max(c, paperLevel) * 256 + c - g];
  }
  return [image(w, h, ink), dark];
}

let ratios = null;

/** round(255 a / d) for 0 ≤ a ≤ d ≤ 255 at [d * 256 + a], rounded as cv2.divide rounds (float32, to even). */
function ratioTable() {
  if (ratios === null) {
    ratios = new Uint8Array(256 * 256);
    for (let d = 1; d < 256; d++) for (let a = 0; a <= d; a++) ratios[d * 256 + a] = roundHalfEven(f32((255 * a) / d));
  }
  return ratios;
}

/** locate.ink_side: more pixels darker than `paper` by MIN_PEAK_INK than lighter by as much (a thin light
 * stroke on a dark board vanishes from the reduced picture). */
export function inkSide(gray, paper) {
  let below = 0;
  let above = 0;
  for (let i = 0; i < gray.data.length; i++) {
    const v = gray.data[i];
    if (v < paper - MIN_PEAK_INK) below++;
    else if (v > paper + MIN_PEAK_INK) above++;
  }
  return below >= above;
}

/** locate.paper_kernel. */
export function paperKernel(gray) {
  return Math.max(15, roundHalfEven(Math.min(gray.w, gray.h) * PAPER_KERNEL) | 1);
}

/** locate.find_strokes: [ink, dark, groups ranked most digit-like first]; a group is {box, contours, ink}. */
export function findStrokes(gray, kernel = null, dark = null, least = null) {
  const { w, h } = gray;
  const short = Math.min(h, w);
  if (least === null) least = kernel === null && paperSpread(gray) <= EVEN_PAPER ? strokeKernel(gray) : 0;
  let ink;
  [ink, dark] = inkMap(gray, Math.max(kernel || paperKernel(gray), least), dark);
  if (short >= SMOOTH_MIN_SIDE) ink = blur3(ink);
  if (maxOf(ink.data) < MIN_PEAK_INK) return [ink, dark, []];
  let groups = groupsAt(ink, threshold(ink.data), short);
  const artifacts = groups.filter((g) => frameArtifact(g, w, h));
  if (artifacts.length) {
    const hidden = rectFilter(fillContours(w, h, artifacts.flatMap((g) => g.contours)), 5, 5, true);
    const rest = new Uint8Array(w * h);
    for (let i = 0; i < rest.length; i++) rest[i] = hidden.data[i] ? 0 : ink.data[i];
    if (maxOf(rest) >= MIN_PEAK_INK) groups = groupsAt(ink, threshold(rest), short);
  }
  const ranked = groups
    .map((g) => [g, score(g, w, h)])
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([g]) => g);
  if (ranked.length && kernel === null) {
    const [x0, y0, x1, y1] = ranked[0].box;
    // digits in a row (a number): their strokes are as wide as the row is tall
    const long = x1 - x0 > ROW_ASPECT * (y1 - y0) ? y1 - y0 : Math.max(x1 - x0, y1 - y0);
    if (long > BIG_DIGIT * short) return findStrokes(gray, Math.min(Math.max(h, w), long) | 1, dark, least);
  }
  return [ink, dark, ranked];
}

/** numpy's searchsorted (left) on a non-decreasing array: the first index whose value is at least `v`. */
function searchSorted(values, v) {
  let i = 0;
  while (i < values.length && values[i] < v) i++;
  return i;
}

/** locate.paper_spread: the interquartile range of the border's paper (within 40 levels of its median). */
export function paperSpread(gray) {
  const counts = new Float64Array(256);
  for (const v of borderValues(gray)) counts[v]++;
  for (let i = 1; i < 256; i++) counts[i] += counts[i - 1];
  const middle = searchSorted(counts, counts[255] / 2);
  const [lo, hi] = [Math.max(0, middle - 39), Math.min(255, middle + 39)];
  const before = lo ? counts[lo - 1] : 0;
  const paper = Array.from(counts.subarray(lo, hi + 1), (c) => c - before);
  const total = paper[paper.length - 1];
  return searchSorted(paper, (total * 3) / 4) - searchSorted(paper, total / 4);
}

/** locate.otsu_ink: Otsu's split as a mask (ink 1, paper 0), the ink the side less of the border is on. */
function otsuInk({ w, h, data }) {
  const level = otsu(data);
  const mask = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) mask[i] = data[i] > level ? 1 : 0;
  const border = borderValues(image(w, h, mask));
  let ones = 0;
  for (const v of border) ones += v;
  if (2 * ones > border.length) for (let i = 0; i < mask.length; i++) mask[i] ^= 1; // the ink is the dark side
  return mask;
}

/** locate.stroke_kernel: STROKE_KERNEL stroke widths (odd), measured on otsuInk; 0 when none or too wide. */
export function strokeKernel(gray) {
  const { w, h } = gray;
  const mask = otsuInk(gray);
  const area = maxCount(mask);
  if (area === 0) return 0;
  const outline = area - maxCount(rectFilter(image(w, h, mask), 3, 3, false).data);
  const width = (2 * area) / Math.max(outline, 1);
  if (width > MAX_STROKE * Math.min(w, h)) return 0;
  return roundHalfEven(STROKE_KERNEL * width) | 1;
}

function threshold(data) {
  return Math.max(MIN_INK, Math.floor(maxOf(data) * INK_FRACTION));
}

function groupsAt(ink, level, short) {
  const strokes = unframedContours(ink, level).map(stroke).filter((s) => s !== null);
  const notLines = strokes.filter((s) => !isLine(s, ink.w, ink.h));
  return group(notLines.length ? notLines : strokes, Math.max(2, roundHalfEven(short * STROKE_GAP)), short, ink.w, ink.h);
}

/**
 * cv2.findContours(ink > level, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE): the outer border of each 8-connected
 * component not inside another's hole, traced as OpenCV traces it (Suzuki–Abe), as flat [x, y, …] corner
 * points; in OpenCV's order (last found first).
 */
export function externalContours(ink, level) {
  const { borders } = components(ink, level);
  return borders.filter((b) => b.depth === 0).map((b) => b.points).reverse();
}

/**
 * locate._unframed on cv2.findContours(ink > level, RETR_TREE, CHAIN_APPROX_SIMPLE): the outer contours,
 * with every frame (a box, a circle, a form's row of boxes) replaced by the components inside its holes.
 * A frame is an outer component holding, directly in a hole, a component at least FRAME_INNER of its
 * height. In OpenCV's tree order: outer components last found first, a frame's holes last found first,
 * the components in a hole last found first.
 */
export function unframedContours(ink, level) {
  const { pad, W, borders } = components(ink, level);
  const height = (b) => b.box[3] - b.box[1] + 1; // cv2.boundingRect's height of the contour's points
  const inside = borders.filter((b) => b.depth === 1);
  const frames = new Set(inside.filter((b) => height(b) >= FRAME_INNER * height(b.parent)).map((b) => b.parent));
  const outer = borders.filter((b) => b.depth === 0).reverse();
  if (frames.size === 0) return outer.map((b) => b.points);
  const hole = holeFirstPixel(pad, W);
  const out = [];
  for (const b of outer) {
    if (!frames.has(b)) {
      out.push(b.points);
      continue;
    }
    const held = inside.filter((c) => c.parent === b).map((c) => [hole(c.start - 1), c.start, c.points]);
    held.sort((p, q) => q[0] - p[0] || q[1] - p[1]);
    for (const [, , points] of held) out.push(points);
  }
  return out;
}

/**
 * Every 8-connected component of ink > level, its outer border traced, in raster order of its first pixel:
 * {points, box, x, y, start (its first pixel in `pad`), depth (how many components it lies inside),
 * parent (the component whose hole holds it, or null)}; with `pad`, the mask in a frame of background.
 */
function components(ink, level) {
  const { w, h, data } = ink;
  const W = w + 2;
  const H = h + 2;
  const pad = new Uint8Array(W * H); // the mask in a frame of background, as OpenCV pads it
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pad[(y + 1) * W + x + 1] = data[y * w + x] > level ? 1 : 0;
  const seen = new Uint8Array(W * H);
  const stack = new Int32Array(W * H);
  const deltas = [1, -W + 1, -W, -W - 1, -1, W - 1, W, W + 1];
  const borders = [];
  for (let start = W; start < W * (H - 1); start++) {
    if (!pad[start] || seen[start]) continue;
    let top = 0;
    seen[start] = 1; // mark the whole component (8-connected) so its other pixels start nothing
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top];
      for (let d = 0; d < 8; d++) {
        const j = i + deltas[d];
        if (pad[j] && !seen[j]) {
          seen[j] = 1;
          stack[top++] = j;
        }
      }
    }
    const points = traceBorder(pad, start, W, deltas);
    borders.push({ points, box: bounds(points), x: (start % W) - 1, y: Math.floor(start / W) - 1, start });
  }
  // a component whose first pixel lies inside another's outer border sits in a hole of it; the
  // components around one are nested, the innermost (the most deeply placed) holds it in its hole
  for (const b of borders) {
    const around = borders.filter((o) => o !== b && encloses(o, b.x, b.y));
    b.depth = around.length;
    b.around = around;
  }
  for (const b of borders) b.parent = b.around.reduce((p, o) => (p === null || o.depth > p.depth ? o : p), null);
  return { pad, W, borders };
}

/**
 * A function giving, for a background pixel of `pad`, the first pixel (raster order) of its 4-connected
 * background region: a hole is found by OpenCV's scan where that region begins.
 */
function holeFirstPixel(pad, W) {
  const first = new Int32Array(pad.length).fill(-1);
  const stack = [];
  const deltas = [1, -1, W, -W];
  return (i0) => {
    if (first[i0] >= 0) return first[i0];
    const region = [i0];
    let least = i0;
    first[i0] = i0;
    stack.push(i0);
    while (stack.length) {
      const i = stack.pop();
      for (const d of deltas) {
        const j = i + d;
        if (j >= 0 && j < pad.length && !pad[j] && first[j] < 0) {
          first[j] = i0;
          region.push(j);
          stack.push(j);
          least = Math.min(least, j);
        }
      }
    }
    for (const i of region) first[i] = least;
    return least;
  };
}

function bounds(points) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    box[0] = Math.min(box[0], points[i]);
    box[1] = Math.min(box[1], points[i + 1]);
    box[2] = Math.max(box[2], points[i]);
    box[3] = Math.max(box[3], points[i + 1]);
  }
  return box;
}

/** Whether pixel (x, y) of another component lies inside this border's polygon (even–odd; never on it). */
function encloses({ points, box }, x, y) {
  if (x <= box[0] || x >= box[2] || y <= box[1] || y >= box[3]) return false;
  const n = points.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const [xi, yi, xj, yj] = [points[2 * i], points[2 * i + 1], points[2 * j], points[2 * j + 1]];
    if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
  }
  return inside;
}

/** OpenCV's icvFetchContour for an outer border from `i0`, keeping the points where the direction turns. */
function traceBorder(pad, i0, W, deltas) {
  const points = [];
  const add = (i) => points.push((i % W) - 1, Math.floor(i / W) - 1);
  let s = 4;
  let i1;
  do {
    s = (s - 1) & 7;
    i1 = i0 + deltas[s];
  } while (pad[i1] === 0 && s !== 4);
  if (s === 4 && pad[i1] === 0) {
    add(i0);
    return Int32Array.from(points);
  }
  let i3 = i0;
  let prev = s ^ 4;
  for (;;) {
    let i4;
    for (;;) {
      s++;
      i4 = i3 + deltas[s & 7];
      if (pad[i4] !== 0 || s >= 15) break;
    }
    s &= 7;
    if (s !== prev) {
      add(i3);
      prev = s;
    }
    if (i4 === i0 && i3 === i1) break;
    i3 = i4;
    s = (s + 4) & 7;
  }
  return Int32Array.from(points);
}

/** locate._stroke: {box, contours, ink} with ink = polygon area + corners / 2 + 1; null for specks. */
function stroke(contour) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  let twice = 0;
  const n = contour.length / 2;
  for (let i = 0; i < n; i++) {
    const x = contour[2 * i];
    const y = contour[2 * i + 1];
    const j = (i + 1) % n;
    twice += x * contour[2 * j + 1] - contour[2 * j] * y;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  const area = Math.abs(twice) / 2 + n / 2 + 1;
  if (area < 4) return null;
  return { box: [x0, y0, x1 + 1, y1 + 1], contours: [contour], ink: area };
}

/** locate._is_line: long, straight and thin, and lying flat or reaching the frame's edge (else a "1"). */
function isLine(s, w, h) {
  const [x0, y0, x1, y1] = s.box;
  const [bw, bh] = [x1 - x0, y1 - y0];
  const length = Math.max(bw, bh);
  const breadth = Math.min(bw, bh);
  const thinLine =
    length > LINE_LENGTH * Math.min(w, h) && breadth < LINE_STRAIGHTNESS * length && s.ink < LINE_THINNESS * length ** 2;
  return thinLine && (bw >= bh || onEdge(s.box, w, h));
}

/** locate._group: merge strokes whose boxes are near (union–find), broken strokes of a similar weight nearer. */
function group(strokes, gap, short, w, h) {
  const n = strokes.length;
  const apart = strokes.map((s) => frameArtifact(s, w, h)); // a table edge or shadow merges with nothing
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i) => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const size = strokes.map(({ box }) => Math.max(box[2] - box[0], box[3] - box[1]));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = strokes[i].box;
      const b = strokes[j].box;
      const dx = Math.max(0, a[0] - b[2], b[0] - a[2]);
      const dy = Math.max(0, a[1] - b[3], b[1] - a[3]);
      const [ia, ib] = [strokes[i].ink, strokes[j].ink];
      const similar =
        Math.min(ia, ib) >= BROKEN_STROKE_WEIGHT * Math.max(ia, ib) &&
        size[i] <= DIGIT_MAX_SIZE * short &&
        size[j] <= DIGIT_MAX_SIZE * short;
      const reach = similar ? Math.max(gap, BROKEN_STROKE_GAP * Math.max(size[i], size[j])) : gap;
      if (dx <= reach && dy <= reach && !apart[i] && !apart[j]) parent[root(i)] = root(j);
    }
  }
  const members = new Map();
  for (let i = 0; i < n; i++) {
    const r = root(i);
    if (!members.has(r)) members.set(r, []);
    members.get(r).push(i);
  }
  return [...members.values()].map((idx) => ({
    box: [0, 1, 2, 3].map((k) => (k < 2 ? Math.min : Math.max)(...idx.map((i) => strokes[i].box[k]))),
    contours: idx.flatMap((i) => strokes[i].contours),
    ink: idx.reduce((t, i) => t + strokes[i].ink, 0),
  }));
}

function onEdge([x0, y0, x1, y1], w, h) {
  return x0 <= 1 || y0 <= 1 || x1 >= w - 1 || y1 >= h - 1;
}

function frameArtifact(g, w, h) {
  const bw = g.box[2] - g.box[0];
  const bh = g.box[3] - g.box[1];
  return onEdge(g.box, w, h) && (bw > 0.6 * w || bh > 0.6 * h || !(1 / 3 <= bw / bh && bw / bh <= 3));
}

/** locate._score. */
function score(g, w, h) {
  const bw = g.box[2] - g.box[0];
  const bh = g.box[3] - g.box[1];
  let s = g.ink;
  const edge = onEdge(g.box, w, h);
  // a tall "1" close up is not frame-sized; nor are several strokes clear of the edges (a number written large)
  const spans =
    (bw > 0.6 * w || (bh > 0.6 * h && bw > 0.25 * bh)) &&
    (edge || g.contours.length < 2 || bh < LARGE_ROW_HEIGHT * h);
  if (spans) s *= 0.05;
  if (edge) s *= 0.01;
  if (spans && edge) s *= 1e-4;
  if (!(0.05 <= bw / bh && bw / bh <= 3)) s *= 0.1;
  return g.ink >= 6 ? s : 0;
}

/**
 * cv2.drawContours(mask, contours, -1, 1, thickness=-1): each polygon filled (pixel centres inside, even–odd)
 * and its outline drawn; `scale` and the offset move the points first (np.round(c * factor) - offset).
 */
export function fillContours(w, h, contours, scale = 1, ox = 0, oy = 0) {
  const mask = new Uint8Array(w * h);
  const set = (x, y) => {
    if (x >= 0 && y >= 0 && x < w && y < h) mask[y * w + x] = 1;
  };
  for (const c of contours) {
    const n = c.length / 2;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = roundHalfEven(c[2 * i] * scale) - ox;
      ys[i] = roundHalfEven(c[2 * i + 1] * scale) - oy;
    }
    let top = Infinity;
    let bottom = -Infinity;
    for (let i = 0; i < n; i++) {
      top = Math.min(top, ys[i]);
      bottom = Math.max(bottom, ys[i]);
    }
    for (let y = Math.max(0, top); y <= Math.min(h - 1, bottom); y++) {
      const cross = [];
      for (let i = 0; i < n; i++) {
        const j = (i + 1) % n;
        if (ys[i] <= y !== ys[j] <= y) cross.push(xs[i] + ((y - ys[i]) * (xs[j] - xs[i])) / (ys[j] - ys[i]));
      }
      cross.sort((a, b) => a - b);
      for (let k = 0; k + 1 < cross.length; k += 2) {
        for (let x = Math.max(0, Math.ceil(cross[k])); x <= Math.min(w - 1, Math.floor(cross[k + 1])); x++) set(x, y);
      }
    }
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const steps = Math.max(Math.abs(xs[j] - xs[i]), Math.abs(ys[j] - ys[i]), 1);
      for (let t = 0; t <= steps; t++) {
        set(Math.round(xs[i] + ((xs[j] - xs[i]) * t) / steps), Math.round(ys[i] + ((ys[j] - ys[i]) * t) / steps));
      }
    }
  }
  return image(w, h, mask);
}

// ---------------------------------------------------------------- normalize.py

/** cv2.moments' m00, m10 / m00, m01 / m00 (centre of mass); [0, NaN, NaN] for an empty image. */
function massCentre({ w, h, data }) {
  let m00 = 0;
  let m10 = 0;
  let m01 = 0;
  for (let y = 0; y < h; y++) {
    let row = 0;
    let rowX = 0;
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x];
      row += v;
      rowX += x * v;
    }
    m00 += row;
    m10 += rowX;
    m01 += y * row;
  }
  return [m00, m10 / m00, m01 / m00];
}

function borderValues({ w, h, data }) {
  const out = [];
  for (let x = 0; x < w; x++) out.push(data[x]);
  for (let x = 0; x < w; x++) out.push(data[(h - 1) * w + x]);
  for (let y = 1; y < h - 1; y++) out.push(data[y * w]);
  for (let y = 1; y < h - 1; y++) out.push(data[y * w + w - 1]);
  return out;
}

/** normalize.looks_like_mnist: 28×28, light on a dark border, mass near the centre. */
export function looksLikeMnist(gray) {
  if (gray.w !== SIDE || gray.h !== SIDE) return false;
  const border = borderValues(gray);
  if (border.filter((v) => v > 25).length * 2 >= border.length) return false;
  const [m00, cx, cy] = massCentre(gray);
  if (m00 <= 0) return false;
  return Math.abs(cy - (SIDE - 1) / 2) <= 2 && Math.abs(cx - (SIDE - 1) / 2) <= 2;
}

/** normalize.center_by_mass: `small` placed in 28×28 so its centre of mass is at the centre; peak → 1. */
export function centerByMass(small) {
  const { w, h, data } = small;
  const [m00, mx, my] = massCentre(small);
  const cy = m00 > 0 ? my : (h - 1) / 2;
  const cx = m00 > 0 ? mx : (w - 1) / 2;
  const top = Math.min(Math.max(roundHalfEven((SIDE - 1) / 2 - cy), 0), SIDE - h);
  const left = Math.min(Math.max(roundHalfEven((SIDE - 1) / 2 - cx), 0), SIDE - w);
  const field = new Float32Array(SIDE * SIDE);
  let peak = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x];
      field[(top + y) * SIDE + left + x] = v;
      peak = Math.max(peak, v);
    }
  }
  if (peak > 0) for (let i = 0; i < field.length; i++) field[i] = field[i] / peak;
  return field;
}

function scaledSize(w, h, s) {
  return [Math.max(1, roundHalfEven(w * s)), Math.max(1, roundHalfEven(h * s))];
}

function resizeBy(img, s) {
  const [dw, dh] = scaledSize(img.w, img.h, s);
  return s < 1 ? resizeArea(img, dw, dh) : resizeLinear(img, dw, dh);
}

/** normalize.fit_and_center: the longer side to 20 px, clipped to [0, 1], centred by mass. */
export function fitAndCenter(digit) {
  const small = resizeBy(digit, DIGIT_BOX / Math.max(digit.w, digit.h));
  for (let i = 0; i < small.data.length; i++) small.data[i] = Math.min(1, Math.max(0, small.data[i]));
  return centerByMass(small);
}

function crop({ w, data }, x0, y0, x1, y1) {
  const out = new data.constructor((x1 - x0) * (y1 - y0));
  for (let y = y0; y < y1; y++) out.set(data.subarray(y * w + x0, y * w + x1), (y - y0) * (x1 - x0));
  return image(x1 - x0, y1 - y0, out);
}

/** The box [x0, y0, x1) of the pixels where `test` holds, or null. */
function boxWhere({ w, h, data }, test) {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (test(data[y * w + x])) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}

/** normalize.digit_tensor: soft ink of one digit (float, tightly cropped) → 28×28, or null. */
export function digitTensor(soft) {
  let big = resizeBy(soft, WIDTH_SCALE / Math.max(soft.w, soft.h));
  big = matchStrokeWidth(big);
  const level = f32(0.05);
  const box = boxWhere(big, (v) => v > level);
  return box ? fitAndCenter(crop(big, ...box)) : null;
}

function matchStrokeWidth(big) {
  const level = f32(INK_LEVEL);
  const outline = new Uint8Array(big.data.length);
  let area = 0;
  for (let i = 0; i < outline.length; i++) {
    outline[i] = big.data[i] > level ? 1 : 0;
    area += outline[i];
  }
  if (area === 0) return big;
  const eroded = rectFilter(image(big.w, big.h, outline), 3, 3, false);
  const perimeter = area - maxCount(eroded.data);
  const width = (2 * area) / Math.max(perimeter, 1);
  let radius;
  let dilate;
  if (width < THIN * MNIST_STROKE) [radius, dilate] = [roundHalfEven((MNIST_STROKE - width) / 2), true];
  else if (width > THICK * MNIST_STROKE) [radius, dilate] = [roundHalfEven((width - MNIST_STROKE) / 2), false];
  else return big;
  if (radius < 1) return big;
  return ellipseFilter(big, 2 * radius + 1, dilate);
}

function maxCount(data) {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]) n++;
  return n;
}

/** numpy's median (the mean of the two middle values for an even count), in float32. */
function median(values) {
  const v = Float32Array.from(values).sort();
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : f32((v[m - 1] + v[m]) / 2);
}

/** cv2.threshold(…, THRESH_OTSU) on 8-bit values: the level that best splits them in two (OpenCV's loop). */
export function otsu(values) {
  const hist = new Float64Array(256);
  for (let i = 0; i < values.length; i++) hist[values[i]]++;
  const scale = 1 / values.length;
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * hist[i];
  mu *= scale;
  let mu1 = 0;
  let q1 = 0;
  let maxSigma = 0;
  let maxVal = 0;
  const eps = 1.1920928955078125e-7;
  for (let i = 0; i < 256; i++) {
    const p = hist[i] * scale;
    mu1 *= q1;
    q1 += p;
    const q2 = 1 - q1;
    if (Math.min(q1, q2) < eps || Math.max(q1, q2) > 1 - eps) continue;
    mu1 = (mu1 + i * p) / q1;
    const mu2 = (mu - q1 * mu1) / q2;
    const sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > maxSigma) {
      maxSigma = sigma;
      maxVal = i;
    }
  }
  return maxVal;
}

/**
 * normalize.native_pixels: a picture whose every pixel is a k×k block of one gray level (a tiny digit
 * enlarged by pixel repetition), back at its own size when that is at most `most` a side; else null.
 */
export function nativePixels(gray, most) {
  const { w, h, data } = gray;
  if (Math.max(h, w) <= most || Math.max(h, w) > BLOCKY_MAX || Math.min(h, w) < 2) return null;
  for (let x = 0; x < w; x++) if (data[x] !== data[w + x]) return null; // the cheapest refusal first
  for (let y = 0; y < h; y++) if (data[y * w] !== data[y * w + 1]) return null;
  for (let k = Math.min(h, w) >> 1; k > Math.ceil(Math.max(h, w) / most) - 1; k--) {
    if (k < 2 || h % k || w % k) continue;
    if (isBlocky(gray, k)) {
      const small = new Uint8Array((w / k) * (h / k));
      for (let y = 0; y < h / k; y++) for (let x = 0; x < w / k; x++) small[y * (w / k) + x] = data[y * k * w + x * k];
      return image(w / k, h / k, small);
    }
  }
  return null;
}

/** Whether every pixel equals its k×k block's first. */
function isBlocky({ w, h, data }, k) {
  for (let y = 0; y < h; y++) {
    const top = (y - (y % k)) * w;
    for (let x = 0; x < w; x++) if (data[y * w + x] !== data[top + x - (x % k)]) return false;
  }
  return true;
}

/** normalize.whole_picture_digit: a small picture that is all digit, by global levels; or null. */
export function wholePictureDigit(gray) {
  const found = wholePictureInk(gray);
  return found === null ? null : fitAndCenter(found.ink);
}

/**
 * normalize.whole_picture_ink: {ink (float, cropped), box [x0, y0, x1, y1) in `gray`'s pixels} of a picture
 * that is all digit, by global levels; or null. A picture under TINY_PICTURE a side is first enlarged
 * (cubic) to at least TINY_ENLARGED.
 */
export function wholePictureInk(gray) {
  let k = 1;
  if (Math.max(gray.w, gray.h) < TINY_PICTURE) {
    k = Math.ceil(TINY_ENLARGED / Math.max(gray.w, gray.h));
    gray = resizeCubic(gray, gray.w * k, gray.h * k);
  }
  const n = gray.data.length;
  let g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = gray.data[i] / 255;
  let border = Math.min(gray.w, gray.h) >= 3 ? borderValues(image(gray.w, gray.h, g)) : Array.from(g);
  if (median(border) > 0.5) {
    g = g.map((v) => f32(1 - v));
    border = border.map((v) => f32(1 - v));
  }
  const paper = median(border);
  let top = 0;
  for (let i = 0; i < n; i++) top = Math.max(top, g[i]);
  if (top - paper < 0.1) return null;
  const span = f32(top - paper);
  const ink = new Float32Array(n);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ink[i] = Math.min(1, Math.max(0, f32(f32(g[i] - paper) / span)));
    bytes[i] = Math.trunc(f32(ink[i] * 255));
  }
  const threshold = Math.min(0.6, Math.max(0.2, otsu(bytes) / 255));
  const [level, half] = [f32(threshold), f32(threshold / 2)]; // numpy compares float32 ink in float32
  const box = boxWhere(image(gray.w, gray.h, ink), (v) => v > level);
  if (!box) return null;
  for (let i = 0; i < n; i++) if (!(ink[i] > half)) ink[i] = 0;
  const [x0, y0, x1, y1] = box;
  const at = [Math.floor(x0 / k), Math.floor(y0 / k), Math.ceil(x1 / k), Math.ceil(y1 / k)];
  return { ink: crop(image(gray.w, gray.h, ink), ...box), box: at };
}

// ---------------------------------------------------------------- preprocess.py

class NoDigit extends Error {}

/**
 * preprocess._read on a picture (pictureOf, makePicture): {tensor: Float32Array(784), box, whole}; throws
 * NoDigit. `whole` ({tensor, box, first}, or null): preprocess.Digits.whole and whole_first; with it, a
 * digit that cannot be cropped gives tensor null instead of NoDigit.
 */
export function readPicture(picture) {
  let { gray } = picture;
  const [width, height] = picture.size;
  if (looksLikeMnist(gray)) {
    const tensor = new Float32Array(SIDE * SIDE);
    for (let i = 0; i < tensor.length; i++) tensor[i] = gray.data[i] / 255;
    return { tensor, box: [0, 0, width, height] };
  }
  gray = nativePixels(gray, WHOLE_PICTURE_PX) ?? gray; // a tiny digit enlarged block by block: its own size
  if (Math.max(gray.w, gray.h) <= WHOLE_PICTURE_PX) {
    const tensor = wholePictureDigit(gray);
    if (tensor === null) throw new NoDigit(BLANK);
    return { tensor, box: [0, 0, width, height], tiny: Math.max(gray.w, gray.h) <= TOO_SMALL_TO_JUDGE };
  }
  const [ink, dark, groups] = findStrokes(gray);
  if (!groups.length) throw new NoDigit(maxOf(ink.data) === 0 ? BLANK : NOT_FOUND);
  const first = filled(gray, groups);
  const whole = first === null ? null : wholeReading(picture, gray, union(groups));
  if (whole !== null) whole.first = first;
  let found;
  try {
    found = foundDigit(picture, gray, ink, dark, groups[0]);
  } catch (e) {
    if (whole === null || !(e instanceof NoDigit)) throw e;
    found = { tensor: null, box: null }; // nothing cropped, but the whole picture is read
  }
  return { ...found, whole };
}

/** The best group's digit, cropped and normalised (preprocess._found of one digit): {tensor, box}; throws NoDigit. */
function foundDigit(picture, gray, ink, dark, digit) {
  const [width, height] = picture.size;
  const box = digit.box.map((v, i) => Math.min(i % 2 ? height : width, Math.max(0, roundHalfEven(v * picture.scale))));
  const [x0, y0, x1, y1] = digit.box;
  const long = Math.max(x1 - x0, y1 - y0);
  let source = viewOf(gray);
  let factor = 1;
  if (!(long >= CROP_FROM_WORKING_PX || picture.scale <= 1)) {
    const fineFactor = picture.scale / picture.fineScale;
    const need = long * fineFactor >= MIN_SOURCE_PX ? fineFactor : (2 * MIN_SOURCE_PX) / long;
    let fineScale;
    [source, fineScale] = finer(picture, need);
    factor = picture.scale / fineScale;
  }
  // the working ink is reused when the source is the working image itself (Python: `source is gray`)
  const soft = digitInk(source, factor, digit, dark, source.img === gray ? ink : null);
  const tensor = soft === null ? null : digitTensor(soft);
  if (tensor === null) throw new NoDigit(NOT_FOUND);
  return { tensor, box };
}

/**
 * preprocess._filled: null when no digit may fill the picture; else whether the search's pieces say so
 * clearly (the best group on the edge, or a large piece of it).
 */
export function filled(gray, groups) {
  const { w, h } = gray;
  const best = groups[0];
  const [x0, y0, x1, y1] = union(groups);
  if (Math.max((x1 - x0) / w, (y1 - y0) / h) < FILLED_SPAN || x1 - x0 > FILLED_ASPECT * (y1 - y0)) return null;
  const [bx0, by0, bx1, by1] = best.box;
  const onEdge = bx0 <= 1 || by0 <= 1 || bx1 >= w - 1 || by1 >= h - 1;
  let total = 0;
  for (const g of groups) total += g.ink;
  if (!onEdge && best.ink >= FILLED_BEST * total) return null;
  if (borderInk(gray) > FILLED_BORDER) return null;
  return onEdge || Math.max(bx1 - bx0, by1 - by0) >= FILLED_PART * Math.min(h, w);
}

/** preprocess._union: the box of the groups with at least FILLED_PIECE of the best one's ink. */
function union(groups) {
  const least = FILLED_PIECE * groups[0].ink;
  const boxes = groups.filter((g) => g.ink >= least).map((g) => g.box);
  return [0, 1, 2, 3].map((k) => (k < 2 ? Math.min : Math.max)(...boxes.map((b) => b[k])));
}

/** preprocess._border_ink: the fraction of the border on the ink side of Otsu's split of the gray levels. */
function borderInk(gray) {
  const border = borderValues(image(gray.w, gray.h, otsuInk(gray)));
  return maxCount(border) / border.length;
}

/** preprocess._whole: {tensor, box} of the working image read as one digit, or null (its ink not where the strokes are). */
function wholeReading(picture, gray, strokes) {
  const s = WHOLE_PICTURE_PX / Math.max(gray.w, gray.h);
  const small =
    s >= 1
      ? gray
      : resizeArea(gray, Math.max(1, roundHalfEven(gray.w * s)), Math.max(1, roundHalfEven(gray.h * s)));
  const found = wholePictureInk(small);
  if (found === null) return null;
  const [fx, fy] = [gray.w / small.w, gray.h / small.h];
  const [x0, y0, x1, y1] = found.box;
  const box = [
    roundHalfEven(x0 * fx),
    roundHalfEven(y0 * fy),
    Math.min(gray.w, roundHalfEven(x1 * fx)),
    Math.min(gray.h, roundHalfEven(y1 * fy)),
  ];
  if (inside(strokes, box) < FILLED_INSIDE) return null;
  const [width, height] = picture.size;
  const scaled = box.map((v, i) => Math.min(i % 2 ? height : width, Math.max(0, roundHalfEven(v * picture.scale))));
  return { tensor: fitAndCenter(found.ink), box: scaled };
}

/** preprocess._inside: the fraction of box `a` inside box `b`. */
function inside(a, b) {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (a[2] - a[0]) * (a[3] - a[1]);
  return area > 0 ? (iw * ih) / area : 0;
}

/**
 * preprocess._digit_ink: the digit's ink (float, peak → 1, 0 outside its strokes), tightly cropped, from
 * `view` (the working image, or a finer view with `factor` pixels per working pixel).
 */
function digitInk(view, factor, digit, dark, workingInk) {
  const { w, h } = view;
  const [x0, y0, x1, y1] = digit.box.map((v) => v * factor);
  const long = Math.max(x1 - x0, y1 - y0);
  const m = long * CROP_MARGIN;
  const cx0 = Math.max(0, Math.trunc(x0 - m));
  const cy0 = Math.max(0, Math.trunc(y0 - m));
  const cx1 = Math.min(w, Math.ceil(x1 + m));
  const cy1 = Math.min(h, Math.ceil(y1 + m));
  if (cx1 <= cx0 || cy1 <= cy0) return null;
  let ink;
  if (workingInk !== null) {
    ink = crop(workingInk, cx0, cy0, cx1, cy1);
  } else {
    [ink] = inkMap(view.region(cx0, cy0, cx1, cy1), Math.max(15, Math.trunc(long)) | 1, dark);
    if (long >= SMOOTH_MIN_DIGIT) ink = blur3(ink);
  }
  const rw = cx1 - cx0;
  const rh = cy1 - cy0;
  const grow = 2 * Math.max(1, roundHalfEven(factor)) + 1;
  const mask = rectFilter(fillContours(rw, rh, digit.contours, factor, cx0, cy0), grow, grow, true);
  const hist = new Float64Array(256);
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) {
      hist[ink.data[i]]++;
      count++;
    }
  }
  if (count === 0) return null;
  const k = Math.trunc(count * 0.98);
  let peak = 0;
  for (let seen = 0; peak < 256; peak++) {
    seen += hist[peak];
    if (seen > k) break;
  }
  if (peak <= 0) return null;
  const box = boxWhere(mask, (v) => v > 0);
  const inv = f32(1 / peak);
  const out = crop(ink, ...box);
  const inside = crop(mask, ...box);
  const soft = new Float32Array(out.data.length);
  for (let i = 0; i < soft.length; i++) soft[i] = Math.min(1, f32(out.data[i] * inside.data[i] * inv));
  return image(out.w, out.h, soft);
}

/**
 * The page's entry point: a canvas ImageData (or {data, width, height}) → {pixels, box, reason, whole}.
 * pixels: Float32Array(784) in [0, 1] (null when there is no digit, with Python's reason). whole: for a
 * picture one digit may fill, {tensor, box, first}: the whole picture read as that digit, which the page
 * takes when `pixels` is no digit, or (with `first`) when it reads surer (predictor.to_number_prediction).
 */
export function preprocessImageData(imageData) {
  if (!(imageData.width >= 1 && imageData.height >= 1)) {
    return { pixels: null, box: null, reason: `image is ${imageData.width}x${imageData.height}: empty` };
  }
  try {
    const { tensor, box, whole, tiny } = readPicture(pictureOf(imageData));
    return {
      pixels: tensor,
      box,
      reason: tensor === null ? NOT_FOUND : null,
      whole: whole ?? null,
      tiny: tiny ?? false,
    };
  } catch (e) {
    if (e instanceof NoDigit) return { pixels: null, box: null, reason: e.message };
    throw e;
  }
}
