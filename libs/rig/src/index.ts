export { RigError } from './errors.js';
export { freePort, requireTool } from './tools.js';
export { sweepStaleRigs } from './process.js';
export type { RigProcess } from './process.js';
export type { RigCertificates } from './tls.js';
export { startDns } from './dns.js';
export type { RigDns } from './dns.js';
export { startNats, startNatsCluster } from './nats.js';
export type { RigNats, RigNatsAccess, RigNatsCluster } from './nats.js';
export { redisPing, startRedis } from './redis.js';
export type { RedisOptions, RigRedis } from './redis.js';
export { startRedisSentinel } from './redis-sentinel.js';
export type { RigRedisSentinel } from './redis-sentinel.js';
export { startGobgp } from './gobgp.js';
export type { RigGobgp } from './gobgp.js';
export { KUBERNETES_VERSION, startClusterControlPlane, startControlPlane } from './control-plane.js';
export type { ControlPlaneOptions, RigClusterControlPlane, RigControlPlane } from './control-plane.js';
export { startKubeCluster } from './kube-cluster.js';
export type { KubeClusterOptions, RequestStream, RequestStreamOptions, RigKubeCluster } from './kube-cluster.js';
export type { RigKubeNode } from './kube-node.js';
export {
  BGP_POOL,
  BGP_POOL6,
  installBerth,
  LAYER2_POOL,
  LAYER2_POOL6,
  uninstallBerth,
  upgradeBerth,
} from './berth-install.js';
export {
  eventually,
  httpUrl,
  layer2Owner,
  routerHopsBecome,
  serviceAddresses,
  startEchoService,
  stopLayer2Owner,
  streamsDuring,
} from './berth-traffic.js';
export type { EchoServiceOptions, NodeLoss, StreamsDuring } from './berth-traffic.js';
export type { InstallOptions, RigBerthInstall } from './berth-install.js';
export { BERTH_NAMESPACE, installBerthApi, registerNode, watcherKubeconfig } from './cluster.js';
export type { Kubectl, NodeAddresses } from './cluster.js';
export { startBerthProcess } from './berth-process.js';
export type { BerthProcess, LogLine } from './berth-process.js';
export { routerBirdConfig, startLab } from './lab.js';
export type { LabHost, RigBird, RigBusLink, RigCapture, RigLab } from './lab.js';
export { composeSchemaFile, natsServerBinary } from './cache.js';
export { CHART_DIR, helmBinary, prometheusOperatorCrds, promtoolBinary, renderChart } from './helm.js';
export { dockerDataRoot, startDocker } from './docker.js';
export type { RigDocker } from './docker.js';
export {
  BERTH_IMAGES,
  berthImage,
  buildBerthImages,
  chartAppVersion,
  makeBaseImages,
  makeClusterImages,
  pinnedNodeVersion,
  saveImages,
} from './images.js';
export type { BerthImageName, BuildOptions, RigBaseImages, RigClusterImages } from './images.js';
export { prepareCompose } from './compose.js';
export type { RigCompose } from './compose.js';
export { startRegistry } from './registry.js';
export type { RigRegistry } from './registry.js';
export { startStack } from './stack.js';
export type { BerthStack, StackOptions, StackService } from './stack.js';
export { runFault, startWorkload } from './faults.js';
export type { FaultResult, FaultWorkload } from './faults.js';
export { watchRoutes } from './fault-routes.js';
export type { RouteWatch, RouteWatchReport } from './fault-routes.js';
export { summarizeLayer2 } from './fault-layer2.js';
export type { Layer2Answer, Layer2Watch, Layer2Watcher, Layer2WatchReport } from './fault-layer2.js';
export { CLUSTER_FAULTS, FAULTS, SENTINEL_FAULTS } from './fault-catalog.js';
export type { Fault } from './fault-catalog.js';
