/** Password sign-in with throttling (sign-in-throttle.ts), shared by the form and the JSON API. */
import { CallscreenError } from '../core/errors.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import type { User, UserService } from './user-service.js';

export class SignInService {
  constructor(private readonly users: UserService, private readonly throttle: SignInThrottle) {}

  /** The user, or CS_ERR_THROTTLED (429, details.retryAfterSeconds) / CS_ERR_UNAUTHENTICATED (401). */
  async check(name: string, password: string, ip: string): Promise<User> {
    const wait = this.throttle.retryAfterMs(name, ip);
    if (wait > 0) {
      const retryAfterSeconds = Math.ceil(wait / 1000);
      throw new CallscreenError('CS_ERR_THROTTLED', `too many failed sign-ins; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    const user = await this.users.authenticate(name, password);
    if (!user) {
      this.throttle.recordFailure(name, ip);
      throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'wrong user name or password');
    }
    this.throttle.recordSuccess(name, ip);
    return user;
  }
}
