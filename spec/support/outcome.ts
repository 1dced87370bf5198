/**
 * What a call ends in, for specs that tabulate outcomes: the code of the IScheduleError it throws,
 * or the reason of the VerificationError, or `accepted`. Any other error fails the spec.
 */
import assert from 'node:assert/strict';
import { IScheduleError, VerificationError, type VerificationFailure } from './api.js';

/** The IScheduleError code `run` throws, or 'accepted'. */
export function errorCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof IScheduleError, String(error));
    return error.code;
  }
  return 'accepted';
}

/** The VerificationError reason `run` throws, or 'accepted'. */
export function failureReason(run: () => unknown): VerificationFailure | 'accepted' {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof VerificationError, String(error));
    return error.reason;
  }
  return 'accepted';
}

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
