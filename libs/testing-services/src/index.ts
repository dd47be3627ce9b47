// Tests of whole services: boot an app in-process with a typed client, run the
// built apps as processes, ask reflection, and the expectations every service
// shares. For tests only (lint forbids it elsewhere).
export { bootService, testLogLevel, type BootOptions, type TestService } from './service-harness';
export { bundlePath, launchApp, workspaceRoot, type LaunchedApp } from './process-launcher';
export { describeByReflection } from './reflection-client';
export { EventRecorder } from './event-recorder';
export { EventPublisher } from './event-publisher';
export {
  playStory,
  StoryError,
  type StoryClients,
  type StoryReporter,
  type StoryResult,
  type StoryUsers,
} from './story';
export { launchStack, STACK_APPS, type RunningStack, type StackApp } from './stack-launcher';
export { failureOf, statusOf, users } from './call-outcomes';
export { UpdateWatcher } from './update-watcher';
export { NatsCluster, natsServerAvailable } from './nats-cluster';
export { MetricsScrape, type MetricSample } from './metrics-scrape';
