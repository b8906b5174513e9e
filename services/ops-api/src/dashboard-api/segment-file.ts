import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { HttpError } from '../http/errors';

/**
 * The absolute path of a video-index file, only when it lies inside the state
 * dir with no symbolic link on the way (a link planted in the state dir could
 * otherwise serve any file the process can read) and is a regular file.
 */
export function segmentFilePath(stateDir: string, indexed: string): string {
  const root = realpathSync(stateDir);
  const wanted = path.resolve(root, indexed);
  const rel = path.relative(root, wanted);
  if (!rel || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
    throw new HttpError(
      'forbidden',
      'the video index names a file outside RAYVAULT_STATE_DIR: run rayvault index refresh',
    );
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new HttpError(
      'not_found',
      'the indexed file is missing: run rayvault index refresh, then re-render the segment',
    );
  }
  if (real !== wanted)
    throw new HttpError(
      'forbidden',
      'the indexed file is reached through a symbolic link; refusing to serve it (rayvault index refresh relinks real files)',
    );
  if (!lstatSync(real).isFile()) throw new HttpError('forbidden', 'the indexed path is not a regular file');
  return real;
}
