export { Sim, type SimInit } from './sim.js'
