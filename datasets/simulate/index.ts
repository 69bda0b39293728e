export { Random } from './random.ts';
export { SIMULATED_CLASSES, TRANSIENT_CLASSES, distanceModulus, type SimulatedClass, type SimulatedSource } from './sources.ts';
export { simulate, simulateObject, perfectLightCurve, perfectSource, type SimulatedObject, type SimulationOptions } from './simulate.ts';
