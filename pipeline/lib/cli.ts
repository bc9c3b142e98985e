/**
 * genrelens command line: `npm run genrelens -- <command> [options]`.
 */
import { cp, rm } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { CONFIG_FILE, DATASET_ENV, chooseDataset, readConfigFile, resolveConfig } from './config.ts';
import { settingOptions, settingsFromFlags, settingsHelp, type Config } from './settings.ts';
import { checkSplitForTraining, loadConfiguredDataset, runDataStage, splitDataset } from './data/data-stage.ts';
import { runStrongStage } from './strong/strong-stage.ts';
import { checkTestSetFolder, runTestSetStage } from './analysis/test-set-stage.ts';
import { runTrainStage } from './train/train-stage.ts';
import { besideTraining } from './train/train-jobs.ts';
import { runGmuStage } from './gmu/gmu-stage.ts';
import { runGmuStageInWorker } from './gmu/gmu-in-worker.ts';
import { runAnalysisStage } from './analysis/analysis-stage.ts';
import { runExplainStage } from './explain/explain-stage.ts';
import { writeExamplesArtifact } from './publish/examples.ts';
import { runAblationStage } from './ablations/ablation-stage.ts';
import { evaluateSavedModels } from './analysis/evaluate.ts';
import { selectBackend } from './engine/backend.ts';
import { formatDataQuality } from './data/dataset.ts';
import { writeDemoDataset } from './data/demo-data.ts';
import { publishGeneratedFiles } from './publish/generated-files.ts';
import { consoleEffects, type Effects } from './core/effects.ts';
import { UserError } from './core/errors.ts';
import {
  checkOutputFolders,
  lockOutputFolders,
  recoverFolder,
  removeStaleBuildFolders,
  replaceFolder,
  stageFolder,
  type OutputFolder,
} from './core/workspace.ts';
import { stageContext } from './core/context.ts';

const HELP = `genrelens — a static report site comparing a poster CNN and an overview LSTM for film genres

Usage: npm run genrelens -- <command> [options]

Commands:
  build                 data stage, training, then the Astro site into dist/ (what \`npm run build\` runs)
  prepare               data stage only: validate, split, write the dataset artifacts
  train                 data stage and training (reuses cached models unless --retrain)
  evaluate <folder>     run the trained models on another dataset folder (same layout) and write
                        its metrics JSON (--models <folder>, --out <file>)
  check-data [folder]   validate a dataset folder and print its data-quality summary
  demo-data [folder]    write the synthetic demo dataset (default folder: data/demo-dataset)
  help                  this text

Dataset lookup: --dataset, else $${DATASET_ENV}, else "dataset" in ${CONFIG_FILE},
else data/Multimodal_IMDB_dataset/, else the generated demo dataset.

Options (each overrides ${CONFIG_FILE}; every setting and its default is in pipeline/lib/settings.ts):
${settingsHelp().join('\n')}
  --config <file>               config file (default: ./${CONFIG_FILE} when present)
  --models <folder>             evaluate: trained models (default <public-dir>/models)
  --out <file>                  evaluate: metrics JSON (default <artifacts-dir>/evaluations/<folder>.json)
  --debug                       on an unexpected error, print its stack trace
  -h, --help                    this text
`;

const OPTIONS = {
  ...settingOptions(),
  config: { type: 'string' },
  models: { type: 'string' },
  out: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; short?: string }>;

function numberFlag(name: string, value: string): number {
  const parsed = Number(value);
  // Number('') and Number(' ') are 0: an empty value (`--seed=`) is a mistake, not zero.
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new UserError(`--${name} expects a number, got ${value.trim() === '' ? 'an empty value' : `"${value}"`}`, { fix: `give it as --${name} <number>` });
  }
  return parsed;
}

/** Commands whose one positional argument, when given, is the dataset folder. */
const DATASET_COMMANDS = new Set(['prepare', 'train', 'build']);

export interface ParsedCommand {
  command: string;
  positionals: string[];
  config: Config;
  help: boolean;
  debug: boolean;
  /** Options of single commands that are not settings. */
  models?: string;
  out?: string;
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv, root: string): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UserError((error as Error).message, { fix: 'run `npm run genrelens -- --help` for the options' });
  }
  const { positionals } = parsed;
  const values = parsed.values as Record<string, string | boolean | undefined> & { dataset?: string; config?: string; models?: string; out?: string };
  const [command = 'help', ...rest] = positionals;
  // `build <folder>` (and prepare, train) means the dataset folder, as `check-data <folder>` does.
  if (DATASET_COMMANDS.has(command) && rest.length > 0) {
    if (rest.length > 1 || values.dataset !== undefined) {
      throw new UserError(
        `${command} takes at most one folder (the dataset), got ${[...(values.dataset === undefined ? [] : [`--dataset ${values.dataset}`]), ...rest].join(', ')}`,
        {
          fix: `npm run genrelens -- ${command} <dataset folder>, or ${command} --dataset <folder>`,
        },
      );
    }
    values.dataset = rest.shift();
  }
  const configPath = values.config ? resolve(values.config) : resolve(root, CONFIG_FILE);
  const flags = settingsFromFlags(values, numberFlag);
  const config = resolveConfig({
    file: readConfigFile(configPath, Boolean(values.config)),
    fileName: configPath,
    env,
    flags,
  });
  return { command, positionals: rest, config, help: Boolean(values.help), debug: Boolean(values.debug), models: values.models, out: values.out };
}

async function checkData(config: Config, folder: string | undefined, root: string, effects: Effects): Promise<void> {
  const started = effects.now();
  const effective = folder ? { ...config, dataset: folder } : config;
  const { choice, dataset } = await loadConfiguredDataset(effective, root, effects);
  const split = splitDataset(dataset, effective);
  effects.info(formatDataQuality(dataset));
  effects.info(`Split (seed ${effective.seed}, iterative stratification): ${split.train.length} train / ${split.validation.length} validation`);
  effects.info(`Dataset folder: ${choice.dir}${dataset.synthetic ? ' (synthetic demo data)' : ''}`);
  effects.info(`Content hash: ${dataset.contentHash}`);
  effects.info(`Checked in ${((effects.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Builds the Astro site from the artifacts (the content collections read GENRELENS_ARTIFACTS_DIR),
 * with publicDir (models, thumbnails) in its `generated/` folder, into a temporary sibling of outDir
 * that replaces outDir only once complete (workspace.ts `replaceFolder`): a failed or interrupted
 * build leaves the previous site whole. Astro's own cache lives in the genrelens cache dir, so
 * builds with different cache dirs never share it.
 */
async function buildSite(config: Config, root: string): Promise<void> {
  process.env.GENRELENS_ARTIFACTS_DIR = resolve(root, config.artifactsDir);
  const { build } = await import('astro');
  const outDir = resolve(root, config.outDir);
  await replaceFolder(outDir, 'the built report site (--out-dir)', async (siteDir) => {
    // Astro bundles the prerendered pages beside outDir when outDir is inside the working directory,
    // else into the shared <cwd>/.astro/, where concurrent builds (the tests) overwrite each other's:
    // a site folder elsewhere is built in a private folder inside the project, then copied.
    const inside = siteDir.startsWith(process.cwd() + sep);
    const buildDir = inside ? siteDir : join(root, '.astro', 'builds', `${process.pid}-${Date.now().toString(36)}`);
    try {
      await build({ root, outDir: buildDir, cacheDir: resolve(root, config.cacheDir, 'astro'), logLevel: 'warn' });
      if (!inside) await cp(buildDir, siteDir, { recursive: true, filter: (source) => !source.includes(`${sep}.prerender`) });
    } finally {
      if (!inside) await rm(buildDir, { recursive: true, force: true });
    }
    await publishGeneratedFiles(resolve(root, config.publicDir), siteDir, root);
  });
}

/** The pipeline, stage by stage: data, strong models beside training, fusion, analysis, ablations, explanations. */
async function runStages(config: Config, root: string, effects: Effects): Promise<void> {
  const ctx = stageContext(config, root, effects);
  checkTestSetFolder(config, root);
  const stage = await runDataStage(ctx);
  checkSplitForTraining(stage, config);
  // The strong models need no trained model and run on any number of cores: they take the first core
  // training leaves free (the BiLSTM's, once it is done), ahead of the CNN's batch shards, which gain
  // less from it. Without a core falling free (one core, --sequential, one model or none to train)
  // they run after training, on every core.
  const strong = besideTraining('the strong models', (cores) => runStrongStage(stage, ctx, cores));
  try {
    await runTrainStage(stage, ctx, config.strongModels ? strong : undefined);
  } finally {
    await strong.settled(); // after a failure too: nothing may still write into outputs about to be discarded
  }
  await strong.run(availableParallelism());
  if (config.parallel && availableParallelism() > 1) {
    // The learned fusion needs only the trained models, the explanations also the example cards
    // (examples.json): one core each, at once, the cards' thumbnails (sharp's threads) meanwhile.
    await firstError([runGmuStageInWorker(stage, ctx), writeExamplesArtifact(stage, ctx).then(() => runExplainStage(stage, ctx))]);
    await runAnalysisStage(stage, ctx);
    await runAblationStage(stage, ctx);
  } else {
    await writeExamplesArtifact(stage, ctx);
    await runGmuStage(stage, ctx);
    await runAnalysisStage(stage, ctx);
    await runAblationStage(stage, ctx);
    await runExplainStage(stage, ctx);
  }
  await runTestSetStage(ctx);
}

/** Waits for all of `work`, then throws the first error in the order given (the pipeline's order). */
async function firstError(work: Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(work)) if (outcome.status === 'rejected') throw outcome.reason;
}

/**
 * Runs `run` with the artifacts and public folders staged (workspace.ts `stageFolder`): the stages
 * write into copies, swapped in only when all of them finished, so a failed or interrupted run
 * never leaves a half-updated set for the site or the next run to mix.
 */
async function withStagedOutputs(config: Config, root: string, run: (staged: Config) => Promise<void>): Promise<void> {
  const artifacts = await stageFolder(resolve(root, config.artifactsDir));
  const published = await stageFolder(resolve(root, config.publicDir));
  try {
    await run({ ...config, artifactsDir: artifacts.stage, publicDir: published.stage });
  } catch (error) {
    await artifacts.discard();
    await published.discard();
    throw error;
  }
  await artifacts.commit();
  await published.commit();
}

/**
 * Before a command writes anything: refuses output folders that could destroy what genrelens did
 * not make, locks them against a second run, and cleans up what an interrupted run left beside them.
 */
async function prepareOutputFolders(command: string, config: Config, root: string, effects: Effects): Promise<void> {
  const outputs: OutputFolder[] = [
    { flag: '--cache-dir', path: resolve(root, config.cacheDir) },
    { flag: '--artifacts-dir', path: resolve(root, config.artifactsDir) },
    { flag: '--public-dir', path: resolve(root, config.publicDir) },
    ...(command === 'build' ? [{ flag: '--out-dir', path: resolve(root, config.outDir), replaced: true }] : []),
  ];
  const dataset = chooseDataset(config, root);
  const protect: OutputFolder[] = [{ flag: 'the project', path: root }, ...(dataset.kind === 'demo' ? [] : [{ flag: 'the dataset', path: dataset.dir }])];
  checkOutputFolders(outputs, protect);
  lockOutputFolders(
    outputs.map((o) => o.path),
    `genrelens ${command}`,
    (line) => effects.info(line),
  );
  // The site, the artifacts and the public files are replaced by renames; the cache checks its own entries.
  for (const output of outputs.filter((o) => o.flag !== '--cache-dir')) await recoverFolder(output.path, (line) => effects.info(line));
  await removeStaleBuildFolders(join(root, '.astro', 'builds'));
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, root = process.cwd()): Promise<number> {
  const effects = consoleEffects();
  try {
    const { command, positionals, config, help, models, out } = parseCommandLine(argv, env, root);
    if (help || command === 'help') {
      effects.info(HELP);
      return 0;
    }
    switch (command) {
      case 'check-data':
        await checkData(config, positionals[0], root, effects);
        return 0;
      case 'demo-data': {
        const dir = resolve(root, positionals[0] ?? 'data/demo-dataset');
        await writeDemoDataset(dir, { films: config.demoFilms }, effects);
        return 0;
      }
      case 'prepare':
        await prepareOutputFolders(command, config, root, effects);
        await withStagedOutputs(config, root, async (staged) => void (await runDataStage(stageContext(staged, root, effects))));
        return 0;
      case 'train':
        await prepareOutputFolders(command, config, root, effects);
        await withStagedOutputs(config, root, (staged) => runStages(staged, root, effects));
        return 0;
      case 'evaluate': {
        const folder = positionals[0];
        if (!folder) throw new UserError('evaluate needs a dataset folder', { fix: 'npm run genrelens -- evaluate <folder>' });
        const datasetDir = resolve(root, folder);
        await selectBackend({ force: config.backend, effects });
        await evaluateSavedModels(
          {
            datasetDir,
            modelsDir: resolve(root, models ?? join(config.publicDir, 'models')),
            artifactsDir: resolve(root, config.artifactsDir),
            outFile: resolve(root, out ?? join(config.artifactsDir, 'evaluations', `${basename(datasetDir)}.json`)),
            cacheDir: resolve(root, config.cacheDir),
            maxPosterPixels: config.maxPosterPixels,
          },
          effects,
        );
        return 0;
      }
      case 'build':
        await prepareOutputFolders(command, config, root, effects);
        await withStagedOutputs(config, root, (staged) => runStages(staged, root, effects));
        await buildSite(config, root);
        return 0;
      default:
        throw new UserError(`unknown command "${command}"`, { fix: 'run `npm run genrelens -- --help` for the commands' });
    }
  } catch (error) {
    if (error instanceof UserError) {
      console.error(`genrelens: ${error.format()}`);
      return 1;
    }
    // Not a mistake genrelens knows how to explain: one line, and the stack only when asked for.
    if (argv.includes('--debug')) throw error;
    const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
    console.error(
      `genrelens: unexpected error: ${message}\n  fix: run the same command with --debug for the stack trace, and report it if the inputs look right`,
    );
    return 2;
  }
}

/** Runs the command line on this process's arguments and sets its exit code (pipeline/cli.ts calls it). */
export async function runCommandLine(): Promise<void> {
  // Ctrl-C: every artifact and checkpoint is written atomically, so stopping here loses at most the
  // epoch in progress; the same command resumes from the last finished epoch.
  process.once('SIGINT', () => {
    console.error('\ngenrelens: interrupted. Finished epochs are checkpointed; run the same command again to resume.');
    process.exit(130);
  });
  process.exitCode = await main(process.argv.slice(2));
}

if (import.meta.main) await runCommandLine();
