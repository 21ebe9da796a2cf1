import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { isConnectionError } from '../../src/state/redisErrors.js';

const sock = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code });

describe('isConnectionError: retry what the connection caused, not what Redis answered', () => {
  it.each([
    ['closed connection', new Error('Connection is closed.')],
    ['offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['cluster not ready', new Error("Cluster isn't ready and enableOfflineQueue options is false")],
    ['timeout', new Error('Command timed out')],
    ['cluster redirections exhausted', new Error('Too many Cluster redirections. Last error: Error: Connection is closed.')],
    ['refused', sock('ECONNREFUSED')],
    ['reset', sock('ECONNRESET')],
    ['a connection not up in time', new Error('Redis not ready after 1000 ms')],
    ['CLUSTERDOWN', new ReplyError('CLUSTERDOWN The cluster is down')],
    ['TRYAGAIN', new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot')],
    ['READONLY (a demoted master)', new ReplyError("READONLY You can't write against a read only replica.")],
    ['LOADING', new ReplyError('LOADING Redis is loading the dataset in memory')],
  ])('%s → retried', (_name, err) => {
    expect(isConnectionError(err)).toBe(true);
  });

  it.each([
    ['script error', new ReplyError('ERR user_script:12: Script attempted to access nonexistent global variable')],
    ['wrong type', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a bug of ours', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'Connection is closed.'],
  ])('%s → not retried', (_name, err) => {
    expect(isConnectionError(err)).toBe(false);
  });
});
