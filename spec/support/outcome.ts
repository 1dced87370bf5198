/**
 * What a call ends in, for specs that tabulate outcomes: the code of the IScheduleError it throws,
 * or the reason of the VerificationError, or `accepted`. Any other error fails the spec.
 */
import assert from 'node:assert/strict';
import { IScheduleError, VerificationError, type VerificationFailure } from './api.js';

/** What `read` takes from the error of `type` that `run` throws, or 'accepted'. */
function thrown<E extends Error, R>(
  run: () => unknown,
  type: abstract new (...args: never[]) => E,
  read: (error: E) => R,
): R | 'accepted' {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof type, String(error));
    return read(error);
  }
  return 'accepted';
}

/** The IScheduleError code `run` throws, or 'accepted'. */
export const errorCode = (run: () => unknown): string => thrown(run, IScheduleError, (error) => error.code);

/** The VerificationError reason `run` throws, or 'accepted'. */
export const failureReason = (run: () => unknown): VerificationFailure | 'accepted' =>
  thrown(run, VerificationError, (error) => error.reason);

/** The reason a verification promise rejects with; fails the spec if it resolves. */
export async function rejectionReason(promise: Promise<unknown>): Promise<VerificationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerificationError, String(error));
    return error.reason;
  }
  return assert.fail('verification should have failed');
}
