/**
 * The live demo, wired to its page (src/pages/demo.astro): starts TensorFlow.js (lazily, in its own
 * chunk), loads the models, then runs the CNN on the chosen poster and the BiLSTM on the typed
 * overview as they change, and both fusions on the latest results of the two. An answer that
 * arrives after a newer input is dropped.
 */
import type * as TF from '@tensorflow/tfjs';
import { posterInput, type PosterInputSpec } from '../../lib/poster-preprocess.ts';
import { fuseProbabilities, overviewInput, vocabularyIndex, type DemoConfig, type DemoModelKind } from '../../lib/demo.ts';
import type { VectorizerConfig } from '../../../pipeline/lib/contract/vectorizer.ts';
import { decodeImage, hasTransparency } from './decode.ts';
import { message } from './errors.ts';
import { loadDemoModels } from './models.ts';
import { predictGmu, predictModel, type ModelResult } from './predict.ts';
import { showError, showProbabilities, showRunning } from './render.ts';
import { loadStrongText } from './strong-text.ts';
import { strongTextProbabilities, type DemoStrongText } from '../../lib/strong-demo.ts';

type SectionId = DemoModelKind | 'fusion' | 'gmu' | 'strong-text';

export async function startDemo(root: HTMLElement): Promise<void> {
  const config = JSON.parse(root.dataset.config ?? '{}') as DemoConfig;
  const status = root.querySelector<HTMLElement>('.demo-status')!;
  const form = root.querySelector<HTMLFormElement>('#demo-form')!;
  const fileInput = form.querySelector<HTMLInputElement>('input[type="file"]')!;
  const drop = root.querySelector<HTMLElement>('#demo-drop')!;
  const textarea = form.querySelector<HTMLTextAreaElement>('textarea')!;
  const posterStatus = root.querySelector<HTMLElement>('.demo-poster-status')!;
  const textStatus = root.querySelector<HTMLElement>('.demo-text-status')!;
  const preview = root.querySelector<HTMLElement>('.demo-preview')!;
  const original = root.querySelector<HTMLImageElement>('.demo-original')!;
  const inputCanvas = root.querySelector<HTMLCanvasElement>('.demo-model-input')!;
  const sections = Object.fromEntries([...root.querySelectorAll<HTMLElement>('.demo-model')].map((el) => [el.dataset.model as SectionId, el])) as Record<
    SectionId,
    HTMLElement
  >;

  const setStatus = (text: string, kind: 'info' | 'error' = 'info') => {
    status.textContent = text;
    status.classList.toggle('demo-error', kind === 'error');
  };
  // Hidden without JavaScript (the <noscript> note says why).
  form.hidden = false;
  root.querySelector<HTMLElement>('.demo-results')!.hidden = false;
  setStatus('Loading TensorFlow.js and the models…');

  // --- TensorFlow.js and the models ----------------------------------------------------------
  let tf: typeof TF;
  try {
    tf = await import('@tensorflow/tfjs');
    const wanted = new URLSearchParams(location.search).get('backend');
    if (wanted) {
      if (!(await tf.setBackend(wanted))) throw new Error(`the ${wanted} backend did not start`);
    }
    await tf.ready();
  } catch (error) {
    root.dataset.state = 'error';
    setStatus(`TensorFlow.js could not start in this browser: ${message(error)}`, 'error');
    return;
  }
  root.querySelector<HTMLElement>('.demo-backend')!.textContent = `TensorFlow.js ${tf.version.tfjs}, ${tf.getBackend()} backend.`;
  root.dataset.backend = tf.getBackend();

  const [{ loaded, gmu, problems, unavailable }, strongText] = await Promise.all([
    loadDemoModels(tf, config),
    config.strongText ? loadStrongText(config).catch((error: unknown) => new Error(message(error))) : Promise.resolve(null),
  ]);
  let strong: DemoStrongText | null = null;
  if (strongText instanceof Error) {
    problems.push(`Strong overview model: ${strongText.message}`);
    showError(sections['strong-text'], strongText.message);
    sections['strong-text'].dataset.state = 'unavailable';
  } else {
    strong = strongText;
  }
  for (const id of ['cnn', 'lstm', 'fusion', 'gmu'] as const) {
    const reason = unavailable[id];
    if (reason === undefined) continue;
    showError(sections[id], reason);
    // The late fusion is only an error (it needs both); a model or the learned fusion is unavailable.
    if (id !== 'fusion') sections[id].dataset.state = 'unavailable';
  }
  if (!loaded.cnn && !loaded.lstm && !strong) {
    fileInput.disabled = true;
    textarea.disabled = true;
    drop.classList.add('disabled');
    root.dataset.state = 'error';
    setStatus(`The models could not be loaded. ${problems.join(' ')}`, 'error');
    return;
  }
  root.dataset.state = 'ready';
  setStatus(
    problems.length ? `Ready, with a problem. ${problems.join(' ')}` : 'Models loaded. Choose a poster and type an overview.',
    problems.length ? 'error' : 'info',
  );

  // --- Predictions -----------------------------------------------------------------------------
  const latest: Partial<Record<DemoModelKind, ModelResult>> = {};
  const runs: Record<DemoModelKind | 'gmu', number> = { cnn: 0, lstm: 0, gmu: 0 };

  function show(id: SectionId, probabilities: number[] | null, note?: string) {
    const threshold =
      id === 'fusion' ? 0.5 : id === 'gmu' ? gmu!.gmu.meta.threshold : id === 'strong-text' ? config.strongText!.threshold : loaded[id]!.meta.threshold;
    showProbabilities(sections[id], config.genres, probabilities, threshold, note);
  }

  /** Both fusions, from the latest results of the two models (or their "needs both" note). */
  function showFusion() {
    if (!loaded.cnn || !loaded.lstm) return;
    if (latest.cnn && latest.lstm) {
      show('fusion', fuseProbabilities(latest.cnn.probabilities, latest.lstm.probabilities, config.fusionWeight));
    } else {
      show('fusion', null);
    }
    void showGmu();
  }

  async function showGmu() {
    if (!gmu) return;
    const run = ++runs.gmu;
    const visual = latest.cnn?.activations;
    const textual = latest.lstm?.activations;
    if (!visual || !textual) {
      show('gmu', null);
      return;
    }
    showRunning(sections.gmu, 'Running the learned fusion…');
    try {
      const probabilities = await predictGmu(tf, gmu, visual, textual);
      if (run === runs.gmu) show('gmu', probabilities);
    } catch (error) {
      if (run === runs.gmu) showError(sections.gmu, `the learned fusion failed: ${message(error)}`);
    }
  }

  // Poster.
  async function usePoster(file: File | undefined) {
    const run = ++runs.cnn;
    latest.cnn = undefined;
    showFusion();
    if (!file) {
      preview.hidden = true;
      posterStatus.textContent = '';
      posterStatus.classList.remove('demo-error');
      if (loaded.cnn) show('cnn', null);
      return;
    }
    posterStatus.classList.remove('demo-error');
    posterStatus.textContent = `Reading ${file.name}…`;
    if (loaded.cnn) showRunning(sections.cnn, 'Reading the poster…');
    let decoded: { rgba: Uint8ClampedArray; width: number; height: number };
    try {
      decoded = await decodeImage(file);
    } catch (error) {
      if (run !== runs.cnn) return;
      preview.hidden = true;
      posterStatus.textContent = message(error);
      posterStatus.classList.add('demo-error');
      if (loaded.cnn) show('cnn', null, 'No poster to read.');
      return;
    }
    if (run !== runs.cnn) return;
    if (original.src) URL.revokeObjectURL(original.src);
    original.src = URL.createObjectURL(file);
    preview.hidden = false;
    const alpha = hasTransparency(decoded.rgba);
    posterStatus.textContent =
      `${file.name}: ${decoded.width}×${decoded.height} pixels.` +
      (alpha ? ' It has transparent pixels: the pipeline drops the alpha channel, and the colour under fully transparent pixels may differ in a browser.' : '');
    const cnn = loaded.cnn;
    if (!cnn) return;
    const spec = cnn.meta.input as { kind: 'poster' } & PosterInputSpec;
    let input: { rgb: Uint8Array; values: Float32Array };
    try {
      input = posterInput(decoded.rgba, decoded.width, decoded.height, spec);
    } catch (error) {
      showError(sections.cnn, message(error));
      return;
    }
    drawModelInput(input.rgb, spec.width, spec.height);
    showRunning(sections.cnn, 'Running the CNN…');
    try {
      const result = await predictModel(tf, cnn, tf.tensor4d(input.values, [1, spec.height, spec.width, 3]));
      if (run !== runs.cnn) return;
      latest.cnn = result;
      show('cnn', result.probabilities);
      showFusion();
    } catch (error) {
      if (run === runs.cnn) showError(sections.cnn, `the CNN failed: ${message(error)}`);
    }
  }

  function drawModelInput(rgb: Uint8Array, width: number, height: number) {
    inputCanvas.width = width;
    inputCanvas.height = height;
    const image = new ImageData(width, height);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      image.data[j] = rgb[i];
      image.data[j + 1] = rgb[i + 1];
      image.data[j + 2] = rgb[i + 2];
      image.data[j + 3] = 255;
    }
    inputCanvas.getContext('2d')!.putImageData(image, 0, 0);
    root.querySelector<HTMLElement>('.demo-input-caption')!.textContent = `What the CNN sees (${width}×${height})`;
  }

  // Overview.
  const lstmInput = loaded.lstm?.meta.input as ({ kind: 'overview' } & VectorizerConfig) | undefined;
  const index = lstmInput ? vocabularyIndex(lstmInput.vocabulary) : null;
  const fixedLength = (() => {
    const shape = loaded.lstm?.model.inputs[0].shape;
    return shape && typeof shape[1] === 'number' ? shape[1] : null;
  })();

  /** The strong overview model: a few sparse dot products, at once. */
  function useStrongText(text: string) {
    if (!strong) return;
    if (text.trim() === '') show('strong-text', null);
    else show('strong-text', strongTextProbabilities(strong, text));
  }

  async function useOverview(text: string) {
    const run = ++runs.lstm;
    latest.lstm = undefined;
    showFusion();
    useStrongText(text);
    if (!loaded.lstm || !lstmInput || !index) return;
    if (text.trim() === '') {
      textStatus.textContent = '';
      show('lstm', null);
      return;
    }
    let input: ReturnType<typeof overviewInput>;
    try {
      input = overviewInput(text, lstmInput, index, fixedLength);
    } catch (error) {
      showError(sections.lstm, message(error));
      return;
    }
    textStatus.textContent =
      input.tokens === 0
        ? 'No words left after lowercasing and removing punctuation.'
        : `${input.tokens} word${input.tokens === 1 ? '' : 's'}` +
          (input.tokens > input.read ? `, of which the first ${input.read} are read` : '') +
          `; ${input.unknown} not in the model’s vocabulary.`;
    if (input.tokens === 0) {
      show('lstm', null, 'Type some words.');
      return;
    }
    showRunning(sections.lstm, 'Running the BiLSTM…');
    try {
      const result = await predictModel(tf, loaded.lstm, tf.tensor2d(input.ids, [1, input.ids.length], 'int32'));
      if (run !== runs.lstm) return;
      latest.lstm = result;
      show('lstm', result.probabilities);
      showFusion();
    } catch (error) {
      if (run === runs.lstm) showError(sections.lstm, `the BiLSTM failed: ${message(error)}`);
    }
  }

  // Wiring.
  if (!loaded.cnn) {
    fileInput.disabled = true;
    drop.classList.add('disabled');
  }
  if (!loaded.lstm && !strong) textarea.disabled = true;
  fileInput.addEventListener('change', () => void usePoster(fileInput.files?.[0]));
  for (const type of ['dragenter', 'dragover'] as const) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'drop'] as const) drop.addEventListener(type, () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files[0];
    if (file) void usePoster(file);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  textarea.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void useOverview(textarea.value), 250);
  });
  form.addEventListener('reset', () => {
    clearTimeout(timer);
    setTimeout(() => {
      void usePoster(undefined);
      void useOverview('');
      textStatus.textContent = '';
    });
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  // A value the browser restored (back/forward) is used at once.
  if (fileInput.files?.[0]) void usePoster(fileInput.files[0]);
  if (textarea.value) void useOverview(textarea.value);
}
