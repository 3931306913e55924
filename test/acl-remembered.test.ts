// The publish ACL's memo (broker/mqtt/acl.ts decidePublishRemembered): it remembers only what it
// allowed, per role, so a device that published to its own outbox is still refused everywhere else.
import { describe, expect, it } from 'vitest';
import { decidePublish, decidePublishRemembered } from '../broker/mqtt/acl.js';
import type { Role } from '../broker/mqtt/roles.js';

describe('acl: publish decisions remembered per role', () => {
  const car: Role = { kind: 'device', device: 'car-1' };
  const own = { topic: 'mqpay/v1/d/car-1/out/tick' };

  it('answers as decidePublish does, the first time and every time after', () => {
    const cases = [own, { topic: 'mqpay/v1/d/car-2/out/tick' }, { topic: 'mqpay/v1/d/car-1/in/tick' }, { ...own, retain: true }, { topic: 'mqpay/v1/d/car-1/out/nothing' }];
    for (let round = 0; round < 2; round++) {
      for (const packet of cases) expect(decidePublishRemembered(car, packet)).toEqual(decidePublish(car, packet));
    }
    expect(decidePublishRemembered(car, own)).toMatchObject({ allowed: true, device: 'car-1', box: 'tick' });
  });

  it('an allowed topic of one role is not allowed to another role, nor to an operator or nobody', () => {
    expect(decidePublishRemembered(car, own).allowed).toBe(true);
    expect(decidePublishRemembered({ kind: 'device', device: 'car-2' }, own)).toMatchObject({ allowed: false, reason: 'outside own outbox' });
    expect(decidePublishRemembered({ kind: 'operator' }, own)).toMatchObject({ allowed: false });
    expect(decidePublishRemembered(undefined, own)).toMatchObject({ allowed: false });
    expect(decidePublishRemembered(car, { ...own, retain: true })).toMatchObject({ allowed: false, reason: 'devices may not retain messages' });
  });
});
