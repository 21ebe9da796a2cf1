// A free TCP port on a loopback address: the edge's own helper, so tests and the local engine pick ports alike.
export { freeTcpPort as freePort } from '../../src/sip/ports.js';
