/**
 * A real carball replay for the tests: the 2v2 env played by four ball chasers, recorded with the sim's
 * replay builder and carball scene, with one goal for blue forced by the state setter (the ball put in
 * front of the orange goal, rolling in) so the timeline has a goal to scrub to.
 */
import { ReplayBuilder, ballChaser, carballScene, carballSignals, carballTransforms, createCarballEnv, encodeReplay, type CarballState } from '@rewardlab/sim';

export const COMPONENTS = ['goal', 'touch', 'ballSpeed'] as const;

export interface CarballFixture {
  bytes: Uint8Array;
  frames: number;
  /** Frame at which blue's goal is recorded. */
  goalFrame: number;
}

export async function recordCarballReplay(frames = 120, shotAtStep = 30): Promise<CarballFixture> {
  const env = await createCarballEnv({ teamSize: 2, terminateOnGoal: false, noTouchTimeoutSeconds: 0, timeoutSeconds: 0 });
  try {
    env.reset({ seed: 7 });
    let state: CarballState = env.getState();
    const hz = 1 / env.metadata.secondsPerStep;
    const builder = new ReplayBuilder(carballScene(state), { envId: env.id, hz, seed: 7, kind: 'test' }, 1);
    builder.addFrame(carballTransforms(state), {}, carballSignals(state));
    let goalFrame = -1;
    for (let step = 1; step < frames; step++) {
      if (step === shotAtStep) {
        // Blue attacks +y: the ball rolls into the orange goal from just in front of it.
        env.setState({ ...state, ball: { pos: [0, 4700, 93.15], vel: [0, 2000, 0], angVel: [0, 0, 0] } });
        state = env.getState();
      }
      const actions = state.cars.map((car) => ballChaser(state, car.id));
      const r = env.step(actions);
      state = env.getState();
      const events = (r.info.agents as { events: Record<string, number> }[]).map((a) => a.events);
      const ballSpeed = Math.hypot(...state.ball.vel) / 6000;
      const rewards = {
        goal: r.reward.map((v) => v),
        touch: events.map((e) => e.touch ?? 0),
        ballSpeed: state.cars.map(() => ballSpeed),
      };
      const stepEvents = events.flatMap((e, agent) => Object.entries(e).filter(([, v]) => v).map(([type, value]) => ({ agent, type, value })));
      if (goalFrame < 0 && stepEvents.some((e) => e.type === 'teamGoal' && e.agent === 0)) goalFrame = step;
      builder.addFrame(carballTransforms(state), { rewards, actions, events: stepEvents }, carballSignals(state));
    }
    return { bytes: encodeReplay(builder.build()), frames, goalFrame };
  } finally {
    env.close();
  }
}
