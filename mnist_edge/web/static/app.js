// The page: a drawing pad and photo inputs -> preprocess.js (784 floats) -> the int8 model in
// onnxruntime-web (WASM, global `ort` from vendor/ort.wasm.min.js) -> answer, bars, latency.
// State for people and tests: <html data-state="loading|ready|error">, window.mnistEdge.
import { preprocessImageData } from "./preprocess.js";
import { calibrate, nearUniform, rejects, trustFromCard } from "./trust.js";

const MODEL_URL = "model.int8.onnx"; // beside this page: `serve` and the static bundle both put it there
const CARD_URL = "card.json"; // the model's card (temperature, "not a digit" rule), beside it too
const INPUT = "pixels"; // contract.INPUT_NAME: [1, 784] float32 in [0, 1]
const OUTPUT = "probabilities"; // contract.OUTPUT_NAME: [1, 10]; the card's labels are "0".."9" (index = label)
const MAX_PIXELS = 50_000_000; // runtime/decode.py's limit: larger pictures are refused, as predict does
const PEN = 0.08; // pen width as a fraction of the pad's side (an MNIST stroke, relative to the digit box)
// The pad (280×280) is read at half its side: each pixel the mean of a 2×2 block (the canvas's own
// bilinear scaling, sampling exactly between four pixels). Preprocessing is 3–7× faster; on 1,000
// drawn-like digits (benchmarks/web_parity.py) accuracy is 97.6 % against 97.2 % at full size, and
// 98.2 % of labels equal Python's reading of the full-size pad.
const READ_SIDE = 140;

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ink = pad.getContext("2d", { willReadFrequently: true });
const reader = readerCanvas();
// readPad is here for tests: the picture the pad's preprocessing reads.
const state = (window.mnistEdge = { predictions: 0, last: null, timings: {}, readPad });

let session = null;
let trust = trustFromCard(null); // T = 1, no rejection until the card is read
let running = Promise.resolve();

main();

async function main() {
  buildBars();
  clearPad();
  bindPad();
  $("clear").addEventListener("click", clearPad);
  for (const input of [$("photo"), $("camera")]) input.addEventListener("change", () => onPhoto(input));
  try {
    session = await loadModel();
    setStatus(`model ready in ${state.timings.ready.toFixed(0)} ms after page start`);
    document.documentElement.dataset.state = "ready";
  } catch (error) {
    fail(`could not load the model: ${error.message}`);
  }
}

async function loadModel() {
  const params = new URLSearchParams(location.search);
  ort.env.wasm.wasmPaths = new URL("vendor/", document.baseURI).href;
  // One thread by default: the model is small, and it works on any static host (threads need COOP/COEP).
  ort.env.wasm.numThreads = crossOriginIsolated ? Number(params.get("threads") || 1) : 1;
  const response = await fetch(MODEL_URL);
  if (!response.ok) throw new Error(`${MODEL_URL}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const card = await fetch(CARD_URL);
  if (!card.ok) throw new Error(`${CARD_URL}: HTTP ${card.status}`);
  trust = trustFromCard(await card.json());
  state.trust = trust;
  const created = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  if (!created.inputNames.includes(INPUT) || !created.outputNames.includes(OUTPUT)) {
    throw new Error(`the model must have input "${INPUT}" and output "${OUTPUT}"`);
  }
  state.timings.sessionCreated = performance.now();
  session = created;
  await infer(new Float32Array(784)); // warm-up: the first run allocates; the first digit then runs at full speed
  state.timings.ready = performance.now();
  state.threads = ort.env.wasm.numThreads;
  state.modelBytes = bytes.length;
  return created;
}

async function infer(pixels) {
  const feeds = { [INPUT]: new ort.Tensor("float32", pixels, [1, 784]) };
  const results = await session.run(feeds);
  return Array.from(results[OUTPUT].data);
}

// One prediction at a time (a WASM session runs one call at once); the latest request wins.
// `read` gives the ImageData to preprocess; reading the canvas counts as preprocessing in the timings.
function predictFrom(read, placement = null) {
  // A failed prediction is reported and the page stays usable; only a model that never loaded is fatal.
  running = running.then(() => predict(read, placement)).catch((error) => showNothing(`error: ${error.message}`));
  return running;
}

async function predict(read, placement) {
  if (!session) return;
  const t0 = performance.now();
  const imageData = read();
  const tr = performance.now();
  const seen = preprocessImageData(imageData);
  const t1 = performance.now();
  if (!seen.pixels && !seen.whole) {
    showNothing(seen.reason || "no digit found");
    return;
  }
  const found = await judged(seen.pixels, seen.box, seen.tiny);
  const whole = seen.whole ? await judged(seen.whole.tensor, seen.whole.box) : null;
  // predictor.to_number_prediction: the whole picture when what was found is no digit, or is clearly a
  // piece of the digit that fills the picture and less sure
  const wholeTaken = whole && !whole.doubted && (!found || found.doubted || (seen.whole.first && whole.top > found.top));
  const taken = wholeTaken ? whole : found;
  const t2 = performance.now();
  if (!taken) {
    showNothing(seen.reason || "no digit found"); // nothing cropped, and the whole picture is no digit
    return;
  }
  const { probabilities, doubted, pixels, box } = taken;
  const label = doubted ? null : probabilities.indexOf(taken.top);
  state.last = {
    label,
    confidence: doubted ? null : probabilities[label],
    reason: doubted ? "not a digit" : null,
    probabilities,
    pixels: Array.from(pixels),
    box,
    readMs: tr - t0,
    preprocessMs: t1 - t0,
    inferenceMs: t2 - t1,
    totalMs: t2 - t0,
    at: t2,
  };
  state.predictions += 1;
  if (state.timings.firstPrediction === undefined) state.timings.firstPrediction = t2;
  show(state.last, placement);
}

/** One reading through the model and the card's rules (for a picture too small for its threshold, `tiny`,
 * only a nearly uniform reading is doubted): {probabilities, top, doubted, pixels, box}, or null. */
async function judged(pixels, box, tiny = false) {
  if (!pixels) return null;
  const probabilities = calibrate(await infer(pixels), trust);
  const doubted = tiny ? trust.threshold !== null && nearUniform(probabilities) : rejects(probabilities, pixels, trust);
  return { probabilities, top: Math.max(...probabilities), doubted, pixels, box };
}

// --- drawing ------------------------------------------------------------------------------------

function readerCanvas() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = READ_SIDE;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "low"; // bilinear: at exactly half size, the mean of each 2×2 block
  return context;
}

/** The pad at READ_SIDE×READ_SIDE, as ImageData (one reused canvas: no allocation but the pixels). */
function readPad() {
  reader.drawImage(pad, 0, 0, READ_SIDE, READ_SIDE);
  return reader.getImageData(0, 0, READ_SIDE, READ_SIDE);
}

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
}

function bindPad() {
  let last = null;
  const at = (event) => {
    const r = pad.getBoundingClientRect();
    return [((event.clientX - r.left) * pad.width) / r.width, ((event.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener("pointerdown", (event) => {
    if (pad.dataset.photo) {
      clearPad(); // drawing over a photo starts a new drawing
      delete pad.dataset.photo;
    }
    pad.setPointerCapture(event.pointerId);
    last = at(event);
    stroke(last, last);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = at(event);
    stroke(last, next);
    last = next;
  });
  const end = () => {
    if (!last) return;
    last = null;
    predictFrom(readPad);
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
}

function stroke([x0, y0], [x1, y1]) {
  ink.strokeStyle = "#000";
  ink.lineWidth = PEN * pad.width;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(x0, y0);
  ink.lineTo(x1, y1);
  ink.stroke();
}

// --- photos -------------------------------------------------------------------------------------

async function onPhoto(input) {
  const file = input.files[0];
  input.value = ""; // choosing the same file again fires again
  if (!file) return;
  let bitmap;
  try {
    // As decoded for preprocess.js's parity tests: no colour management, EXIF orientation applied.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    showNothing(`${file.name}: not a picture this browser can read`);
    return;
  }
  const { width: w, height: h } = bitmap;
  if (w * h > MAX_PIXELS) {
    bitmap.close();
    showNothing(`${file.name}: image is ${w}x${h}, over the ${MAX_PIXELS}-pixel limit`);
    return;
  }
  // Full size: preprocess.js scales it down itself, the way the Python runtime does.
  const work = new OffscreenCanvas(w, h).getContext("2d", { willReadFrequently: true });
  work.drawImage(bitmap, 0, 0);
  const placement = showPhoto(bitmap, w, h);
  bitmap.close();
  await predictFrom(() => work.getImageData(0, 0, w, h), placement);
}

// Fit the photo on the pad; return how to map a box in the w×h work picture onto the pad.
function showPhoto(bitmap, w, h) {
  clearPad();
  const s = Math.min(pad.width / w, pad.height / h);
  const dx = (pad.width - w * s) / 2, dy = (pad.height - h * s) / 2;
  ink.drawImage(bitmap, dx, dy, w * s, h * s);
  pad.dataset.photo = "1";
  return { s, dx, dy };
}

// --- output -------------------------------------------------------------------------------------

function buildBars() {
  const bars = $("bars");
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    li.innerHTML = `<span>${d}</span><span class="bar"><span class="fill"></span></span><span class="pct">–</span>`;
    bars.append(li);
  }
}

function show(result, placement) {
  $("label").textContent = result.label === null ? "–" : String(result.label);
  $("confidence").textContent = result.label === null ? result.reason : `${(100 * result.confidence).toFixed(1)} %`;
  [...$("bars").children].forEach((li, d) => {
    const p = result.probabilities[d];
    li.classList.toggle("top", d === result.label);
    li.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".pct").textContent = `${(100 * p).toFixed(1)} %`;
  });
  const seen = $("seen").getContext("2d");
  const picture = seen.createImageData(28, 28);
  result.pixels.forEach((v, i) => {
    picture.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i);
  });
  seen.putImageData(picture, 0, 0);
  if (placement && result.box) {
    const [x0, y0, x1, y1] = result.box;
    ink.strokeStyle = "#2b6cb0";
    ink.lineWidth = 2;
    ink.strokeRect(placement.dx + x0 * placement.s, placement.dy + y0 * placement.s, (x1 - x0) * placement.s, (y1 - y0) * placement.s);
  }
  $("latency").textContent =
    `preprocessing ${result.preprocessMs.toFixed(1)} ms + model ${result.inferenceMs.toFixed(1)} ms = ${result.totalMs.toFixed(1)} ms`;
  setStatus(result.reason || "");
}

function showNothing(reason) {
  state.last = { label: null, reason };
  state.predictions += 1;
  $("label").textContent = "–";
  $("confidence").textContent = "";
  setStatus(reason);
}

function setStatus(text) {
  $("status").textContent = text;
}

function fail(message) {
  document.documentElement.dataset.state = "error";
  setStatus(message);
}
