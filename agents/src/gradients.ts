/**
 * Device-side gradients of Sum and Mean. tfjs-core's own multiply dy by `ones(x.shape)`, and `ones` is
 * a typed array filled on the CPU and uploaded: on webgpu every backward pass then does CPU work and a
 * host-to-device copy the size of each reduced tensor. For PPO's categorical log-probabilities and
 * entropy, sums over a [minibatch, actions] tensor, that was most of an update's time at large
 * minibatches (agents/README.md "On a GPU"). These replacements broadcast dy on the device (a Tile
 * kernel) and give the same values. tfjs keeps one gradient per kernel for all backends, so they are
 * registered when the webgpu backend is selected, and the CPU backends keep tfjs's.
 */
import * as tf from '@tensorflow/tfjs';

function reductionGradient(kernelName: 'Sum' | 'Mean'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axis = (attrs as { axis?: number | number[] | null }).axis;
      const axes = axis === undefined || axis === null ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape);
      const expanded = x.shape.slice();
      for (const a of axes) expanded[a] = 1;
      const dyTensor = Array.isArray(dy) ? dy[0]! : dy;
      return {
        x: () => {
          const spread = tf.broadcastTo(tf.reshape(dyTensor, expanded), x.shape);
          if (kernelName === 'Sum') return spread;
          const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
          return tf.div(spread, count);
        },
      };
    },
  };
}

let registered = false;

/** Replaces tfjs's Sum and Mean gradients with the device-side ones (idempotent). */
export function registerDeviceSideReductionGradients(): void {
  if (registered) return;
  tf.registerGradient(reductionGradient('Sum'));
  tf.registerGradient(reductionGradient('Mean'));
  registered = true;
}
