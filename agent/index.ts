// The agent library: what a device program imports (bundled into dist/agent.js).
export { createAgent, type CreateAgentOptions } from './agent.js';
export type { Agent } from './agent-api.js';
export { initAgentHome, loadAgentHome, type AgentHome } from './home/home.js';
export { agentConfigSchema, parseAgentConfig, type AgentConfig, type AgentConfigInput, type SpendingPolicy } from './home/config.js';
export type { AgentFaults } from './context.js';
export type { AgentLogger, Clock } from './ports.js';
export type { AgentStatus } from './status.js';
export type * from './types.js';
export { formatAmount, parseAmount, type Amount } from '../shared/amount.js';
export { MqpayError, type ErrorCode } from '../shared/errors.js';
export type { RotationResult } from './key-rotation.js';
