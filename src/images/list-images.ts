import type Dockerode from 'dockerode';
import type { Catalog } from '../catalog/release.js';
import { imageDigest } from './image-digest.js';

export interface ReleaseImageRow {
  release: string;
  image: string;
  present: boolean;
  /** Image id ("sha256:…") when present: what `plan --out` pins. */
  digest: string | null;
  /** ISO time the image was built, when present. */
  created: string | null;
  sizeBytes: number | null;
}

/** One row per release of the catalog, whether or not its image exists on this engine. */
export async function listReleaseImages(docker: Dockerode, catalog: Catalog): Promise<ReleaseImageRow[]> {
  const rows: ReleaseImageRow[] = [];
  // A release without an image (a process-executor catalog) has nothing to list.
  for (const release of catalog.releases) {
    if (release.image === undefined) continue;
    const image = release.image;
    const digest = await imageDigest(image, docker);
    if (digest === null) {
      rows.push({
        release: release.id,
        image,
        present: false,
        digest: null,
        created: null,
        sizeBytes: null,
      });
      continue;
    }
    const info = await docker.getImage(digest).inspect();
    rows.push({
      release: release.id,
      image,
      present: true,
      digest,
      created: info.Created,
      sizeBytes: info.Size,
    });
  }
  return rows;
}
