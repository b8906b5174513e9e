import { execFile } from 'node:child_process';
import { RayVaultError, type ErrorCode } from '@rayvault/shared';

/** Debian package that provides each tool, for the "not installed" message. */
const PACKAGE_OF: Record<string, string> = { ffmpeg: 'ffmpeg', ffprobe: 'ffmpeg', 'espeak-ng': 'espeak-ng' };

/**
 * A media tool could not run. A missing tool is an installation problem: retrying
 * cannot help, so it is not retryable. A tool that ran and failed (`stderr` holds
 * its last words) may pass on another try.
 */
export class ToolError extends RayVaultError {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly stderr: string,
    options: { missing: boolean; cause?: unknown },
  ) {
    super(message, options);
    this.code = options.missing ? 'config_invalid' : 'internal';
    this.retryable = !options.missing;
  }
}

/**
 * Runs ffmpeg / ffprobe / espeak-ng without a shell. `signal` kills the tool, so an
 * aborted stage leaves no encoder running. Resolves with stdout.
 */
export function runTool(tool: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { signal, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if (signal?.aborted) return reject(signal.reason ?? err);
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') {
        return reject(
          new ToolError(
            `${tool} is not installed or not on PATH: install it (apt-get install ${PACKAGE_OF[tool] ?? tool})`,
            '',
            { missing: true, cause: err },
          ),
        );
      }
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new ToolError(`${tool} failed: ${tail || e.message}`, stderr, { missing: false, cause: err }));
    });
  });
}
