/** The report's pages, in reading order: the navigation and the home page's section links. */
export interface ReportPageInfo {
  path: string;
  label: string;
  description: string;
}

export const REPORT_PAGES: readonly ReportPageInfo[] = [
  { path: '/', label: 'Report', description: 'The verdict, key charts and examples.' },
  { path: '/models/cnn/', label: 'Poster CNN', description: 'Architecture, training curves, learning rate and per-genre results of the poster CNN.' },
  {
    path: '/models/lstm/',
    label: 'Overview BiLSTM',
    description: 'Architecture, training curves, learning rate and per-genre results of the overview BiLSTM.',
  },
  { path: '/comparison/', label: 'Comparison', description: 'Both models’ validation curves on shared axes, and the winner per genre.' },
  {
    path: '/analysis/',
    label: 'Analysis',
    description:
      'Baselines, per-genre precision/recall/F1 and average precision, precision–recall curves, the Drama bias, tuned thresholds, the late fusion and a learned fusion (GMU).',
  },
  {
    path: '/strong/',
    label: 'Strong models',
    description:
      'Linear models on TF-IDF n-grams and on poster features, their stacked fusion, and decisions chosen on the training films: what the data supports.',
  },
  {
    path: '/ablations/',
    label: 'Ablations',
    description:
      'The main run against the same models retrained with one switch on — class-weighted or focal loss, poster augmentation, early stopping — on the same split and seed.',
  },
  {
    path: '/test-set/',
    label: 'Test set',
    description: 'Every classifier on a held-out folder (with --test-set), the decisions fixed on the training films: tables, intervals and charts.',
  },
  { path: '/examples/', label: 'Examples', description: 'Every validation film with both models’ top-3 genres, filterable by genre and outcome.' },
  {
    path: '/demo/',
    label: 'Live demo',
    description: 'Both trained models in your browser: drop a poster, type an overview, see each model’s genres and their late and learned fusions.',
  },
  { path: '/dataset/', label: 'Dataset', description: 'Films, split, label distribution, genre co-occurrence and data quality.' },
  { path: '/run/', label: 'Run', description: 'Configuration, seed, backend and device, epoch times, library versions and cache keys.' },
];
