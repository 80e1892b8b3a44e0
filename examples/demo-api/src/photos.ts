// The photo library of the demo API: in memory, one library per token subject (`sub`), seeded
// with a few pictures the first time a subject shows up. Thumbnails are tiny SVG scenes served as
// base64 data: URIs, so the client has something to show without any external asset.
import { createHash, randomUUID } from 'node:crypto';

export interface Photo {
  id: string;
  title: string;
  description: string;
  /** data:image/svg+xml;base64,… */
  thumbnail: string;
  createdAt: string;
}

export interface NewPhoto {
  title: string;
  description?: string;
}

interface Scene {
  sky: [string, string];
  sun: string;
  far: string;
  near: string;
}

function svgDataUri(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** A 4:3 landscape: gradient sky, a sun, two rows of hills. Colours only, no text. */
export function sceneThumbnail({ sky, sun, far, near }: Scene): string {
  return svgDataUri(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" width="240" height="180">' +
      `<defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${sky[0]}"/>` +
      `<stop offset="1" stop-color="${sky[1]}"/></linearGradient></defs>` +
      '<rect width="240" height="180" fill="url(#s)"/>' +
      `<circle cx="172" cy="62" r="24" fill="${sun}"/>` +
      `<path d="M0 120 Q50 78 100 112 T200 100 T240 108 V180 H0Z" fill="${far}"/>` +
      `<path d="M0 150 Q70 112 130 146 T240 136 V180 H0Z" fill="${near}"/>` +
      '</svg>',
  );
}

const SEED: Array<{ title: string; description: string; scene: Scene }> = [
  {
    title: 'Harbour at dusk',
    description: 'Boats coming home under an orange sky.',
    scene: { sky: ['#f59e0b', '#7c2d12'], sun: '#fde68a', far: '#1e3a5f', near: '#0f172a' },
  },
  {
    title: 'Mountain lake',
    description: 'Still water, first light.',
    scene: { sky: ['#bae6fd', '#e0f2fe'], sun: '#fef9c3', far: '#64748b', near: '#0e7490' },
  },
  {
    title: 'Autumn forest',
    description: 'A walk through red and gold.',
    scene: { sky: ['#fed7aa', '#fff7ed'], sun: '#fb923c', far: '#b45309', near: '#7f1d1d' },
  },
  {
    title: 'Lavender fields',
    description: 'Provence in July.',
    scene: { sky: ['#c4b5fd', '#ede9fe'], sun: '#fef3c7', far: '#7c3aed', near: '#4c1d95' },
  },
  {
    title: 'Green hills',
    description: 'Sunday picnic spot.',
    scene: { sky: ['#7dd3fc', '#f0f9ff'], sun: '#fde047', far: '#65a30d', near: '#166534' },
  },
  {
    title: 'Night in the dunes',
    description: 'Moonrise over the desert.',
    scene: { sky: ['#0f172a', '#312e81'], sun: '#e2e8f0', far: '#92400e', near: '#451a03' },
  },
];

const PALETTE = ['#0e7490', '#b45309', '#7c3aed', '#166534', '#be123c', '#1d4ed8', '#a16207'];

/** A deterministic scene for an uploaded photo (the demo stores no image bytes). */
function thumbnailFor(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const pick = (i: number) => PALETTE[(h[i] ?? 0) % PALETTE.length] ?? '#1d4ed8';
  return sceneThumbnail({ sky: ['#e0f2fe', '#ffffff'], sun: '#fde68a', far: pick(0), near: pick(1) });
}

export const MAX_PHOTOS_PER_LIBRARY = 100;

export class LibraryFullError extends Error {
  constructor() {
    super(`a library holds at most ${MAX_PHOTOS_PER_LIBRARY} photos`);
    this.name = 'LibraryFullError';
  }
}

export class PhotoStore {
  readonly #libraries = new Map<string, Photo[]>();
  readonly #now: () => Date;

  constructor({ now = () => new Date() }: { now?: () => Date } = {}) {
    this.#now = now;
  }

  #library(owner: string): Photo[] {
    let library = this.#libraries.get(owner);
    if (!library) {
      const createdAt = this.#now().toISOString();
      library = SEED.map(({ title, description, scene }, index) => ({
        id: `seed-${index + 1}`,
        title,
        description,
        thumbnail: sceneThumbnail(scene),
        createdAt,
      }));
      this.#libraries.set(owner, library);
    }
    return library;
  }

  list(owner: string): Photo[] {
    return [...this.#library(owner)];
  }

  add(owner: string, photo: NewPhoto): Photo {
    const library = this.#library(owner);
    if (library.length >= MAX_PHOTOS_PER_LIBRARY) throw new LibraryFullError();
    const id = randomUUID();
    const created: Photo = {
      id,
      title: photo.title,
      description: photo.description ?? '',
      thumbnail: thumbnailFor(id),
      createdAt: this.#now().toISOString(),
    };
    library.push(created);
    return created;
  }
}
