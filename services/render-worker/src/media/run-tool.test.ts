import { isRayVaultError } from '@rayvault/shared';
import { runTool, ToolError } from './run-tool';

it('a missing tool is an installation problem the stage runner does not retry', async () => {
  const err = await runTool('rayvault-no-such-tool', ['--version']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  expect(err).toMatchObject({
    code: 'config_invalid',
    retryable: false,
    message: expect.stringMatching(/is not installed or not on PATH/),
  });
  expect(isRayVaultError(err)).toBe(true);
});

it('a tool that ran and failed may pass on another try', async () => {
  const err = await runTool('ffprobe', ['-v', 'error', '/nonexistent/rayvault.wav']).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'internal', retryable: true, message: expect.stringMatching(/^ffprobe failed: /) });
});
