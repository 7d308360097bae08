/**
 * `waymark/dashboard`: a local web page for the workflows in a store, as a Node request handler to
 * mount in an app's own server, or served by `waymark ui`.
 */
export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard';
export { serveDashboard, type ServeDashboardOptions, type ServedDashboard } from './serve-dashboard';
export type { WorkflowView, StepView, StepState } from './workflow-view';
export type { GraphLayout, LaidOutNode, LaidOutEdge } from './graph-layout';
export type { ValueText } from './json-view';
