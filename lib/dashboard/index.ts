/**
 * `waymark/dashboard`: a local web page for the workflows in a store, as a Node request handler to
 * mount in an app's own server, or served by `waymark ui`.
 */
import { assertSupportedNode } from '../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard';
export { serveDashboard, type ServeDashboardOptions, type ServedDashboard } from './serve-dashboard';
export type { WorkflowView, StepView, StepState } from './workflow-view';
export type { GraphLayout, LaidOutNode, LaidOutEdge } from './graph-layout';
export type { ValueText } from './json-view';
