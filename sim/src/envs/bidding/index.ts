/**
 * Real-time bidding (Cai et al., WSDM 2017; REFERENCES.md §3): auction logs (iPinYou format and a
 * synthetic campaign generator), the `rtb` env, the RLB dynamic programme and the published baselines.
 * README.md beside this file documents the generator's model and the evaluation protocol.
 */
import { registerEnv } from '../../registry';
import { RtbEnv, RTB_ENV_ID, type RtbOptions } from './env';

export * from './auctions';
export * from './rlb';
export * from './bidders';
export { RtbEnv, RTB_ENV_ID, rtbOptionsSchema, type RtbOptions } from './env';

export function registerBiddingEnvs(): void {
  registerEnv(RTB_ENV_ID, (options) => new RtbEnv(options as RtbOptions), {
    description: 'Real-time bidding (Cai et al. 2017): second-price auctions under a budget, episodes of N auctions, reward = clicks won.',
    taskMetrics: [
      { name: 'clicks', description: 'clicks won in the episode', better: 'higher' },
      { name: 'spend', description: 'market prices paid in the episode', better: null, unit: 'price units' },
      { name: 'spendShare', description: "the share of the episode's budget spent", better: null },
    ],
  });
}
