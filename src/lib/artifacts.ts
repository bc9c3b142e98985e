/**
 * Typed access to the pipeline's artifacts, for pages (and layouts): a page loads what it shows and
 * passes it to its components as props; components never load artifacts themselves.
 */
import { getEntry } from 'astro:content';
import {
  MODEL_KINDS,
  type AblationsArtifact,
  type AnalysisArtifact,
  type DatasetArtifact,
  type ExamplesArtifact,
  type ExplanationsArtifact,
  type GmuHistoryArtifact,
  type HistoryArtifact,
  type ModelKind,
  type PredictionsArtifact,
  type RunArtifact,
  type SplitArtifact,
  type StrongArtifact,
  type TestSetArtifact,
} from '../../pipeline/lib/contract/contract.ts';
import { attachExplanations, buildExamples, type Example } from './report.ts';

type Collection =
  'dataset' | 'split' | 'run' | 'history' | 'predictions' | 'examples' | 'analysis' | 'explanations' | 'fusion' | 'ablations' | 'strong' | 'testSet';

async function entry<T>(collection: Collection, id: string): Promise<T> {
  const found = await getEntry(collection, id);
  if (!found) throw new Error(`genrelens: the ${collection} artifact "${id}" is missing; run \`npm run build\`.`);
  return found.data as T;
}

export const datasetArtifact = () => entry<DatasetArtifact>('dataset', 'current');
export const splitArtifact = () => entry<SplitArtifact>('split', 'current');
export const runArtifact = () => entry<RunArtifact>('run', 'current');
export const examplesArtifact = () => entry<ExamplesArtifact>('examples', 'current');
export const analysisArtifact = () => entry<AnalysisArtifact>('analysis', 'current');
export const explanationsArtifact = () => entry<ExplanationsArtifact>('explanations', 'current');
/** fusion-gmu.json: how the learned fusion (GMU) was trained. */
export const gmuHistoryArtifact = () => entry<GmuHistoryArtifact>('fusion', 'current');
/** ablations.json: the main run's and each ablation's validation figures (no ablation unless the build ran some). */
/** The strong profile's strong.json, or null when the build ran with --no-strong. */
export async function strongArtifact(): Promise<StrongArtifact | null> {
  const found = await getEntry('strong', 'current');
  return found ? (found.data as StrongArtifact) : null;
}
/** The test set's evaluation (test-set.json), or null when the build ran without --test-set. */
export async function testSetArtifact(): Promise<TestSetArtifact | null> {
  const found = await getEntry('testSet', 'current');
  return found ? (found.data as TestSetArtifact) : null;
}
export const ablationsArtifact = () => entry<AblationsArtifact>('ablations', 'current');
export const historyArtifact = (model: ModelKind) => entry<HistoryArtifact>('history', model);
export const predictionsArtifact = (model: ModelKind) => entry<PredictionsArtifact>('predictions', model);

export async function histories(): Promise<Record<ModelKind, HistoryArtifact>> {
  const [cnn, lstm] = await Promise.all(MODEL_KINDS.map(historyArtifact));
  return { cnn, lstm };
}

let examplesPromise: Promise<Example[]> | undefined;
/**
 * Every validation film with both models' predictions and, for the films explanations.json covers,
 * their explanations (checked to line up across the artifacts).
 */
export function examples(): Promise<Example[]> {
  examplesPromise ??= (async () => {
    const [films, cnn, lstm, run, explanations] = await Promise.all([
      examplesArtifact(),
      predictionsArtifact('cnn'),
      predictionsArtifact('lstm'),
      runArtifact(),
      explanationsArtifact(),
    ]);
    return attachExplanations(buildExamples(films, { cnn, lstm }), explanations, run.trainingKey);
  })();
  return examplesPromise;
}
