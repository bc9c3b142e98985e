/**
 * Loading the published models in the browser: each model's metadata.json (checked against the
 * genres the page was built with) and its tfjs files, and for the learned fusion the layers of the
 * two models whose activations it takes (each model then also outputs them, so one pass gives both).
 * A model that cannot be loaded is reported with the reason and the fix; the others still run.
 */
import type * as TF from '@tensorflow/tfjs';
import {
  checkGmuMatchesModels,
  parseGmuMetadata,
  parseModelMetadata,
  type DemoConfig,
  type DemoGmuMetadata,
  type DemoModelKind,
  type DemoModelMetadata,
  type DemoPublishedModel,
} from '../../lib/demo.ts';
import { message } from './errors.ts';

export interface LoadedModel {
  model: TF.LayersModel;
  meta: DemoModelMetadata;
  /**
   * When the learned fusion is available: the same model with a second output, the activations of
   * the layer the GMU's metadata.json names (one pass gives both).
   */
  withActivations?: TF.LayersModel;
}

export interface LoadedGmu {
  model: TF.LayersModel;
  gmu: DemoGmuMetadata;
}

export const TITLES: Record<DemoPublishedModel, string> = { cnn: 'Poster CNN', lstm: 'Overview BiLSTM', gmu: 'Learned fusion' };

/** What could be loaded, and why the rest could not (`unavailable`: by section, for the page to show). */
export interface DemoModels {
  loaded: Partial<Record<DemoModelKind, LoadedModel>>;
  gmu: LoadedGmu | null;
  /** One line per model that could not be loaded, for the status line. */
  problems: string[];
  /** Why a section cannot run, by section. */
  unavailable: Partial<Record<DemoModelKind | 'fusion' | 'gmu', string>>;
}

/** A published file's response, with an error that names `what` is missing and the fix. */
export async function download(url: string, what = 'model files'): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`cannot download ${url} (${message(error)})`);
  }
  if (!response.ok) {
    throw new Error(
      `the ${what} are missing (HTTP ${response.status} for ${url}); build the site with \`npm run build\` so the pipeline publishes the trained models`,
    );
  }
  return response;
}

/** A published file as JSON, with an error that says what to do when it is missing or broken. */
export async function fetchMetadata(url: string, what?: string): Promise<unknown> {
  const response = await download(url, what);
  try {
    return await response.json();
  } catch {
    throw new Error(`${url} is not valid JSON; rebuild the site`);
  }
}

async function loadLayers(tf: typeof TF, url: string): Promise<TF.LayersModel> {
  try {
    return await tf.loadLayersModel(url);
  } catch (error) {
    throw new Error(`cannot load ${url} (${message(error)}); rebuild the site so the model files are published`);
  }
}

/** Loads the CNN, the BiLSTM and the learned fusion, each on its own: one failing leaves the others running. */
export async function loadDemoModels(tf: typeof TF, config: DemoConfig): Promise<DemoModels> {
  const loadOne = async (kind: DemoModelKind): Promise<LoadedModel> => {
    const meta = parseModelMetadata(await fetchMetadata(config.models[kind].metadata), kind, config.genres);
    return { model: await loadLayers(tf, config.models[kind].model), meta };
  };
  const loadGmu = async (): Promise<LoadedGmu> => {
    const gmu = parseGmuMetadata(await fetchMetadata(config.models.gmu.metadata), config.genres, config.models.gmu.metadata);
    return { model: await loadLayers(tf, config.models.gmu.model), gmu };
  };
  const [cnnResult, lstmResult, gmuResult] = await Promise.allSettled([loadOne('cnn'), loadOne('lstm'), loadGmu()]);
  const models: DemoModels = { loaded: {}, gmu: null, problems: [], unavailable: {} };
  const { loaded, problems, unavailable } = models;
  (['cnn', 'lstm'] as const).forEach((kind) => {
    const result = kind === 'cnn' ? cnnResult : lstmResult;
    if (result.status === 'fulfilled') {
      loaded[kind] = result.value;
    } else {
      problems.push(`${TITLES[kind]}: ${message(result.reason)}`);
      unavailable[kind] = message(result.reason);
    }
  });
  if (!loaded.cnn || !loaded.lstm) {
    unavailable.fusion = 'needs both models, and one could not be loaded.';
    unavailable.gmu = 'needs both models, and one could not be loaded.';
    return models;
  }
  // The learned fusion: its metadata names the layer of each model whose activations it takes.
  try {
    if (gmuResult.status === 'rejected') throw gmuResult.reason;
    models.gmu = withGmuActivations(tf, gmuResult.value, { cnn: loaded.cnn, lstm: loaded.lstm }, config.models.gmu.metadata);
  } catch (error) {
    problems.push(`${TITLES.gmu}: ${message(error)}`);
    unavailable.gmu = message(error);
  }
  return models;
}

/**
 * Checks the learned fusion against the two models (genres, layers, widths) and gives each model a
 * second output, the activations of the layer the fusion takes.
 */
export function withGmuActivations(tf: typeof TF, loadedGmu: LoadedGmu, loaded: Record<DemoModelKind, LoadedModel>, file: string): LoadedGmu {
  const { meta } = loadedGmu.gmu;
  checkGmuMatchesModels(meta, { cnn: loaded.cnn.meta, lstm: loaded.lstm.meta }, file);
  for (const [kind, side] of [
    ['cnn', 'visual'],
    ['lstm', 'textual'],
  ] as const) {
    const { layer, units } = meta.input[side];
    const base = loaded[kind].model;
    let output: TF.SymbolicTensor;
    try {
      output = base.getLayer(layer).output as TF.SymbolicTensor;
    } catch {
      throw new Error(`the learned fusion's ${file} names layer ${layer}, which the ${kind} model does not have; rebuild the site (npm run build)`);
    }
    const width = output.shape[output.shape.length - 1];
    const takes = loadedGmu.model.inputs[side === 'visual' ? 0 : 1].shape[1];
    if (width !== units || takes !== units) {
      throw new Error(
        `the ${kind} model's ${layer} layer gives ${width} values, the learned fusion's ${file} says ${units} and its model takes ${takes}; rebuild the site (npm run build)`,
      );
    }
    loaded[kind].withActivations = tf.model({ inputs: base.inputs, outputs: [base.outputs[0], output] });
  }
  return loadedGmu;
}
