import { describe, expect, it } from 'vitest';
import { Playback, SPEEDS } from '../src/playback';

describe('Playback, the one clock of the viewer', () => {
  it('advances hz × speed frames per wall second while playing', () => {
    const p = new Playback(4500, 15);
    p.setSpeed(2);
    p.play();
    p.advance(0.5);
    expect(p.frame).toBeCloseTo(0.5 * 15 * 2, 9);
  });

  it('does not move while paused', () => {
    const p = new Playback(100, 15);
    p.advance(1);
    expect(p.frame).toBe(0);
  });

  it('stops at the last frame', () => {
    const p = new Playback(10, 15);
    p.play();
    p.advance(10);
    expect(p.frame).toBe(9);
    expect(p.playing).toBe(false);
  });

  it('starts over when played from the end', () => {
    const p = new Playback(10, 15);
    p.seek(9);
    p.play();
    expect(p.frame).toBe(0);
  });

  it('steps whole frames from a fractional time and pauses', () => {
    const p = new Playback(10, 15);
    p.seek(3.4);
    p.play();
    p.step(1);
    expect(p.frame).toBe(4);
    expect(p.playing).toBe(false);
    p.seek(3.4);
    p.step(-1);
    expect(p.frame).toBe(3);
  });

  it('clamps seeks to the recorded frames', () => {
    const p = new Playback(10, 15);
    p.seek(-5);
    expect(p.frame).toBe(0);
    p.seek(50);
    expect(p.frame).toBe(9);
    p.seekSeconds(0.2);
    expect(p.frame).toBeCloseTo(3, 9);
  });

  it('keeps speed within 0.25× to 4× and moves along the ladder', () => {
    const p = new Playback(10, 15);
    p.setSpeed(10);
    expect(p.speed).toBe(4);
    p.setSpeed(0.01);
    expect(p.speed).toBe(0.25);
    p.shiftSpeed(2);
    expect(p.speed).toBe(SPEEDS[2]);
  });

  it('tells subscribers about every change of time', () => {
    const p = new Playback(10, 15);
    const seen: number[] = [];
    p.subscribe((s) => seen.push(s.frame));
    p.seek(2);
    p.step(1);
    expect(seen).toEqual([2, 3]);
  });
});
