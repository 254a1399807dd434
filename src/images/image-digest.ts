import type Dockerode from 'dockerode';
import { logger } from '../util/logger.js';
import { dockerStatusCode, tryConnectDocker } from './docker-connection.js';

const log = logger('docker');

/**
 * The content digest of a local image: its image id ("sha256:…", the digest of its config,
 * which changes whenever anything in the image changes). Registry digests (RepoDigests) exist
 * only for pushed or pulled images, and no registry is reachable here, so the id is what a plan
 * pins. Null when the image is not present, or when no engine answers and none was given.
 */
export async function imageDigest(image: string, docker?: Dockerode): Promise<string | null> {
  let engine = docker;
  if (engine === undefined) {
    const connected = await tryConnectDocker();
    if (connected === null) return null;
    engine = connected;
  }
  try {
    const info = await engine.getImage(image).inspect();
    log.debug(`image ${image} is ${info.Id}`);
    return info.Id;
  } catch (error) {
    if (dockerStatusCode(error) === 404) {
      log.debug(`image ${image} is not present`);
      return null;
    }
    throw error;
  }
}
