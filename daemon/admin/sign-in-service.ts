/**
 * Password sign-in, shared by the form and the JSON API: the throttle (sign-in-throttle.ts) first,
 * then the global budget for names that do not exist, then the bounded hashing gate (hash-gate.ts).
 * Every refusal is counted by reason in `callscreen_signin_throttled_total`.
 */
import { CallscreenError } from '../core/errors.js';
import type { HashGate } from './hash-gate.js';
import type { SignInThrottle, ThrottleReason } from './sign-in-throttle.js';
import type { User, UserService } from './user-service.js';

export type SignInOutcome = 'ok' | 'failed' | ThrottleReason | 'busy';

export class SignInService {
  constructor(
    private readonly users: UserService,
    private readonly throttle: SignInThrottle,
    private readonly gate: HashGate,
    /** Told every outcome (metrics). */
    private readonly onOutcome: (outcome: SignInOutcome) => void = () => {},
  ) {}

  /** The user, or CS_ERR_THROTTLED (429, details.retryAfterSeconds) / CS_ERR_UNAUTHENTICATED (401). */
  async check(name: string, password: string, ip: string): Promise<User> {
    const limited =
      this.throttle.check(name, ip) ?? ((await this.users.get(name)) ? null : this.throttle.takeUnknown());
    if (limited) {
      this.onOutcome(limited.reason);
      const retryAfterSeconds = Math.max(1, Math.ceil(limited.retryAfterMs / 1000));
      throw new CallscreenError('CS_ERR_THROTTLED', `too many failed sign-ins; try again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
    let user: User | null;
    try {
      user = await this.gate.run(() => this.users.authenticate(name, password));
    } catch (err) {
      if (err instanceof CallscreenError && err.code === 'CS_ERR_THROTTLED') this.onOutcome('busy');
      throw err;
    }
    if (!user) {
      this.throttle.recordFailure(name, ip);
      this.onOutcome('failed');
      throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'wrong user name or password');
    }
    this.throttle.recordSuccess(name);
    this.onOutcome('ok');
    return user;
  }

  /**
   * A signed-in user proving their current password (before changing it): the same throttle and
   * hashing gate as a sign-in, so a stolen session cannot guess the password faster than a stranger.
   */
  async confirmPassword(user: User, password: string, ip: string): Promise<void> {
    try {
      await this.check(user.name, password, ip);
    } catch (err) {
      if (err instanceof CallscreenError && err.code === 'CS_ERR_UNAUTHENTICATED') {
        throw new CallscreenError('CS_ERR_FORBIDDEN', 'the current password is wrong', { field: 'current' });
      }
      throw err;
    }
  }
}
