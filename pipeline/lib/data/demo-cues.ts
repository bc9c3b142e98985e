/**
 * The demo dataset's genre cues: for every genre that has positive films, the prior share of films,
 * a background and an accent colour and a motif for its posters, and its own words for the
 * overviews; plus the filler words and names every genre shares. The frequent genres' colours are
 * saturated and far apart, so the quick profile's few dozen steps can learn them.
 */
import type { CourseworkGenre } from './csv.ts';

/** Columns with no positive example in the real data; the demo keeps them all zero too. */
export const NEVER_POSITIVE_GENRES = ['Documentary', 'News', 'Reality-TV', 'Short'] as const;
export type DemoGenre = Exclude<CourseworkGenre, (typeof NEVER_POSITIVE_GENRES)[number]>;

export type Rgb = readonly [number, number, number];
export type Motif =
  | 'diagonal'
  | 'antidiagonal'
  | 'hstripes'
  | 'vstripes'
  | 'triangles'
  | 'zigzag'
  | 'dots'
  | 'circles'
  | 'rings'
  | 'checker'
  | 'grid'
  | 'bars'
  | 'waves'
  | 'diamonds'
  | 'starburst'
  | 'disc'
  | 'frame'
  | 'crosses';

export interface DemoCue {
  /** Share of real films with this genre (label prior). */
  prior: number;
  background: Rgb;
  accent: Rgb;
  motif: Motif;
  /** Genre-specific overview words (each word belongs to one genre only). */
  people: readonly string[];
  things: readonly string[];
  verbs: readonly string[];
  adjectives: readonly string[];
}

const cue = (prior: number, background: Rgb, accent: Rgb, motif: Motif, people: string, things: string, verbs: string, adjectives: string): DemoCue => ({
  prior,
  background,
  accent,
  motif,
  people: people.split(' '),
  things: things.split(' '),
  verbs: verbs.split(' '),
  adjectives: adjectives.split(' '),
});

/** Per-genre poster and overview cues. Priors follow the real label frequencies. */
export const DEMO_CUES: Readonly<Record<DemoGenre, DemoCue>> = {
  Drama: cue(
    0.54,
    [20, 70, 235],
    [200, 210, 230],
    'hstripes',
    'widow nurse teacher patriarch',
    'illness marriage divorce grief',
    'confronts mourns endures',
    'estranged bitter troubled',
  ),
  Comedy: cue(
    0.44,
    [250, 225, 30],
    [230, 90, 30],
    'circles',
    'prankster buffoon comedian klutz',
    'mishap blunder prank fiasco',
    'bungles fumbles spoofs',
    'hapless goofy hilarious',
  ),
  Romance: cue(
    0.21,
    [240, 70, 170],
    [200, 20, 60],
    'disc',
    'lover sweetheart suitor fiancée',
    'courtship kiss romance valentine',
    'woos courts charms',
    'romantic passionate lovestruck',
  ),
  Action: cue(
    0.2,
    [235, 35, 20],
    [255, 200, 0],
    'diagonal',
    'commando mercenary bodyguard vigilante',
    'firefight shootout explosion convoy',
    'battles outguns ambushes',
    'explosive relentless armed',
  ),
  Crime: cue(
    0.18,
    [115, 115, 115],
    [230, 200, 40],
    'checker',
    'detective gangster mobster pickpocket',
    'heist robbery racket loot',
    'robs smuggles extorts',
    'corrupt criminal crooked',
  ),
  Thriller: cue(
    0.14,
    [12, 12, 16],
    [235, 235, 235],
    'antidiagonal',
    'assassin stalker fugitive informant',
    'conspiracy ransom dossier betrayal',
    'pursues blackmails evades',
    'deadly paranoid tense',
  ),
  Adventure: cue(
    0.13,
    [30, 175, 60],
    [230, 190, 110],
    'triangles',
    'explorer adventurer navigator castaway',
    'expedition treasure jungle voyage',
    'explores charts seeks',
    'uncharted perilous faraway',
  ),
  Horror: cue(
    0.076,
    [110, 0, 10],
    [20, 0, 0],
    'zigzag',
    'demon ghost zombie slasher',
    'curse crypt corpse seance',
    'haunts possesses terrorizes',
    'sinister bloody haunted',
  ),
  Fantasy: cue(
    0.07,
    [90, 40, 140],
    [250, 220, 120],
    'starburst',
    'wizard dragon sorceress elf',
    'kingdom spell amulet prophecy',
    'enchants conjures summons',
    'magical enchanted mythical',
  ),
  Mystery: cue(
    0.067,
    [0, 140, 150],
    [150, 230, 220],
    'diamonds',
    'sleuth suspect witness heiress',
    'clue riddle disappearance puzzle',
    'investigates uncovers deciphers',
    'mysterious cryptic hidden',
  ),
  Family: cue(
    0.065,
    [140, 210, 120],
    [255, 255, 255],
    'rings',
    'puppy grandma grandpa toddler',
    'holiday treehouse picnic sleepover',
    'adopts protects reunites',
    'kindhearted wholesome cheerful',
  ),
  'Sci-Fi': cue(
    0.062,
    [10, 30, 70],
    [0, 230, 255],
    'grid',
    'android alien astronaut cyborg',
    'spaceship planet galaxy wormhole',
    'teleports terraforms reprograms',
    'futuristic robotic interstellar',
  ),
  Biography: cue(
    0.05,
    [150, 120, 85],
    [60, 40, 25],
    'frame',
    'pioneer inventor activist statesman',
    'memoir legacy biography career',
    'recounts chronicles inspires',
    'remarkable celebrated visionary',
  ),
  Animation: cue(
    0.036,
    [80, 200, 240],
    [255, 80, 200],
    'dots',
    'puppet critter bunny snowman',
    'toybox paintbrush cartoon crayon',
    'doodles sketches animates',
    'colourful animated plucky',
  ),
  Music: cue(
    0.034,
    [160, 20, 140],
    [255, 240, 80],
    'bars',
    'guitarist singer drummer bandleader',
    'concert album band gig',
    'sings records tours',
    'rhythmic melodic soulful',
  ),
  Sport: cue(
    0.029,
    [30, 120, 60],
    [245, 245, 245],
    'crosses',
    'coach champion boxer quarterback',
    'tournament stadium playoff medal',
    'trains coaches challenges',
    'athletic underdog competitive',
  ),
  History: cue(
    0.022,
    [120, 80, 40],
    [230, 210, 160],
    'vstripes',
    'monarch emperor pharaoh courtier',
    'empire revolution dynasty century',
    'conquers overthrows rules',
    'ancient medieval imperial',
  ),
  War: cue(
    0.018,
    [85, 95, 45],
    [40, 35, 20],
    'zigzag',
    'soldier general sniper medic',
    'battalion trench platoon frontline',
    'invades defends commands',
    'wartime wounded embattled',
  ),
  Musical: cue(
    0.014,
    [250, 170, 210],
    [120, 30, 160],
    'waves',
    'dancer choreographer songstress understudy',
    'showtune stage chorus ballet',
    'choreographs rehearses stages',
    'theatrical dazzling tuneful',
  ),
  Western: cue(
    0.008,
    [215, 170, 100],
    [120, 50, 20],
    'disc',
    'cowboy sheriff outlaw gunslinger',
    'ranch saloon stagecoach posse',
    'tracks duels ropes',
    'dusty frontier lawless',
  ),
  'N/A': cue(0, [128, 128, 128], [180, 180, 180], 'crosses', 'wanderer dreamer', 'vignette fragment reverie', 'observes remembers', 'surreal dreamlike'),
};

/** Every genre a film can be labelled with (N/A included). */
export const DRAWABLE_GENRES = Object.keys(DEMO_CUES) as DemoGenre[];

/** Shared filler words, used by every genre. */
export const DEMO_FILLER = {
  people: ['man', 'woman', 'friend', 'father', 'mother', 'daughter', 'son', 'neighbour', 'stranger'],
  things: ['life', 'past', 'job', 'world', 'home', 'money', 'future'],
  verbs: ['meets', 'finds', 'discovers', 'leaves', 'joins', 'follows', 'helps', 'faces', 'loses', 'trusts'],
  adjectives: ['old', 'small', 'new', 'former', 'lonely', 'unexpected', 'quiet', 'younger'],
};
export const DEMO_NAMES = [
  'Mara',
  'Tobias',
  'Zoë',
  'José',
  'Inès',
  'Kofi',
  'Lena',
  'Arlo',
  'Priya',
  'Hugo',
  'Nadia',
  'Felix',
  'Renée',
  'Otto',
  'Sunniva',
  'Declan',
  'Yuki',
  'Amara',
  'Björn',
  'Clara',
];
