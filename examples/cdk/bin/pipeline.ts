// The CDK app: one stack, the imagedef example pipeline. Every setting is a context value
// (cdk.json, or `cdk synth -c key=value`); account and region are given explicitly, so synth
// needs no AWS credentials and makes no lookups.
import * as cdk from "aws-cdk-lib";
import { ImagedefPipelineStack, RollingDeploy } from "../lib/pipeline-stack";

const app = new cdk.App();

function context(key: string): string {
  const value: unknown = app.node.tryGetContext(key);
  if (typeof value !== "string" || value === "") {
    throw new Error(`context value "${key}" is missing (cdk.json, or cdk synth -c ${key}=...)`);
  }
  return value;
}

const rollingDeploy = context("rollingDeploy");
if (rollingDeploy !== "EcsAction" && rollingDeploy !== "ImagedefDeploy") {
  throw new Error(`context rollingDeploy is "${rollingDeploy}": EcsAction or ImagedefDeploy`);
}
const deployTimeoutMinutes = Number(context("deployTimeoutMinutes"));
if (!Number.isInteger(deployTimeoutMinutes) || deployTimeoutMinutes < 10 || deployTimeoutMinutes > 2160) {
  throw new Error("context deployTimeoutMinutes: a whole number of minutes, 10 to 2160");
}

new ImagedefPipelineStack(app, "ImagedefPipeline", {
  env: { account: context("account"), region: context("region") },
  imagedefRepository: context("imagedefRepository"),
  imagedefTag: context("imagedefTag"),
  connectionArn: context("connectionArn"),
  sourceRepository: context("sourceRepository"),
  sourceBranch: context("sourceBranch"),
  imageTag: context("imageTag"),
  batchImagesBucket: context("batchImagesBucket"),
  batchImagesKey: context("batchImagesKey"),
  clusterName: context("clusterName"),
  taskRoleArns: context("taskRoleArns").split(","),
  rollingDeploy: rollingDeploy as RollingDeploy,
  deployTimeoutMinutes,
});
