// The imagedef example pipeline, as examples/cloudformation/pipeline.yaml builds it: a source with
// the mapping, deploy/ and the buildspec; ECR sources for three repositories and an S3 source for
// BatchImages; one CodeBuild project on the imagedef image that runs `imagedef emit --mapping`;
// web and batch deployed by the ECS (standard) action or by `imagedef deploy` in CodeBuild
// (rollingDeploy), api by CodeDeployToECS from its own checked artifact.
import * as cdk from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import * as codepipeline from "aws-cdk-lib/aws-codepipeline";
import * as actions from "aws-cdk-lib/aws-codepipeline-actions";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

/** How web and batch are deployed (pipeline.yaml's RollingDeploy). */
export type RollingDeploy = "EcsAction" | "ImagedefDeploy";

export interface ImagedefPipelineProps extends cdk.StackProps {
  /** The imagedef image: a repository of this account and region, and its tag. */
  readonly imagedefRepository: string;
  readonly imagedefTag: string;
  /** The source (imagedef.json, deploy/, buildspec.yml) through a CodeStar connection. */
  readonly connectionArn: string;
  /** owner/name */
  readonly sourceRepository: string;
  readonly sourceBranch: string;
  /** The tag the ECR source actions watch. */
  readonly imageTag: string;
  readonly batchImagesBucket: string;
  readonly batchImagesKey: string;
  readonly clusterName: string;
  /** The task and execution roles the task definitions name. */
  readonly taskRoleArns: string[];
  readonly rollingDeploy: RollingDeploy;
  /** ImagedefDeploy: the deploy project's timeout; imagedef deploy gets 5 minutes less. */
  readonly deployTimeoutMinutes: number;
}

/** The ECR repositories of the example's images, by source action (and artifact) name. */
const IMAGES: Record<string, string> = {
  WebImage: "shop/web",
  ApiImage: "shop/api",
  ProxyImage: "shop/proxy",
};

/** The services deployed by the ECS action or by imagedef deploy (their ECS service names). */
const ROLLING = ["web", "batch"];

export class ImagedefPipelineStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: ImagedefPipelineProps) {
    super(scope, id, props);
    const imagedefDeploy = props.rollingDeploy === "ImagedefDeploy";
    const arn = (service: string, resource: string): string =>
      `arn:${this.partition}:${service}:${this.region}:${this.account}:${resource}`;
    const serviceArns = ROLLING.map((s) => arn("ecs", `service/${props.clusterName}/${s}`));

    // The artifact store: a versioned bucket under its own key, TLS only, its accesses logged.
    const key = new kms.Key(this, "ArtifactKey", {
      description: "Encrypts the artifacts and build logs of the imagedef example pipeline",
      enableKeyRotation: true,
    });
    const logGroupPrefix = `/aws/codebuild/${this.stackName}-`;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "LogsEncrypt",
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        conditions: {
          ArnLike: { "kms:EncryptionContext:aws:logs:arn": arn("logs", `log-group:${logGroupPrefix}*`) },
        },
      }),
    );
    const accessLogs = new s3.Bucket(this, "AccessLogBucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: cdk.Duration.days(365), noncurrentVersionExpiration: cdk.Duration.days(30) }],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    (accessLogs.node.defaultChild as cdk.CfnResource).addMetadata("checkov", {
      skip: [
        {
          id: "CKV_AWS_18",
          comment:
            "This is the access-log bucket itself; logging its own accesses would need yet another bucket (and S3 must not log a bucket into itself).",
        },
      ],
    });
    const artifactBucket = new s3.Bucket(this, "ArtifactBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "artifacts/",
      lifecycleRules: [{ noncurrentVersionExpiration: cdk.Duration.days(30) }],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // Sources.
    const source = new codepipeline.Artifact("Source");
    const [owner, repo] = props.sourceRepository.split("/");
    const sourceActions: codepipeline.IAction[] = [
      new actions.CodeStarConnectionsSourceAction({
        actionName: "Source",
        connectionArn: props.connectionArn,
        owner,
        repo,
        branch: props.sourceBranch,
        output: source,
      }),
    ];
    const images: codepipeline.Artifact[] = [];
    for (const [name, repository] of Object.entries(IMAGES)) {
      const output = new codepipeline.Artifact(name);
      images.push(output);
      // The action adds the EventBridge rule that starts the pipeline on a push of the tag.
      sourceActions.push(
        new actions.EcrSourceAction({
          actionName: name,
          repository: ecr.Repository.fromRepositoryName(this, `${name}Repository`, repository),
          imageTag: props.imageTag,
          output,
        }),
      );
    }
    const batchImages = new codepipeline.Artifact("BatchImages");
    images.push(batchImages);
    sourceActions.push(
      new actions.S3SourceAction({
        actionName: "BatchImages",
        bucket: s3.Bucket.fromBucketName(this, "BatchImagesBucket", props.batchImagesBucket),
        bucketKey: props.batchImagesKey,
        output: batchImages,
        // Started by the EventBridge rule below (the bucket sends its events to EventBridge).
        trigger: actions.S3Trigger.NONE,
      }),
    );

    // The imagedef build: emit --mapping, on the imagedef image.
    const imagedefImage = codebuild.LinuxBuildImage.fromEcrRepository(
      ecr.Repository.fromRepositoryName(this, "ImagedefRepository", props.imagedefRepository),
      props.imagedefTag,
    );
    const buildLogs = new logs.LogGroup(this, "BuildLogGroup", {
      logGroupName: `${logGroupPrefix}imagedef`,
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: key,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const build = new codebuild.PipelineProject(this, "BuildProject", {
      description: "imagedef emit --mapping (the source's buildspec)",
      buildSpec: codebuild.BuildSpec.fromSourceFilename(imagedefDeploy ? "buildspec-deploy.yml" : "buildspec.yml"),
      environment: { buildImage: imagedefImage, computeType: codebuild.ComputeType.SMALL },
      encryptionKey: key,
      timeout: cdk.Duration.minutes(15),
      logging: { cloudWatch: { logGroup: buildLogs } },
    });
    if (imagedefDeploy) {
      // imagedef-deploy.json reads web's and batch's task definitions from ecs://CLUSTER/SERVICE
      // (README.md's table: EcsServices, EcsTaskDefinitions).
      build.addToRolePolicy(
        new iam.PolicyStatement({ sid: "EcsServices", actions: ["ecs:DescribeServices"], resources: serviceArns }),
      );
      build.addToRolePolicy(
        new iam.PolicyStatement({ sid: "EcsTaskDefinitions", actions: ["ecs:DescribeTaskDefinition"], resources: ["*"] }),
      );
    }
    const outputs: Record<string, codepipeline.Artifact> = {};
    for (const name of imagedefDeploy ? ["api", "ImagedefOut"] : ["web", "api", "batch"]) {
      outputs[name] = new codepipeline.Artifact(name);
    }
    const fanout = new actions.CodeBuildAction({
      actionName: "Fanout",
      project: build,
      input: source,
      extraInputs: images,
      outputs: Object.values(outputs),
    });

    // Deploy. api: blue/green, all three inputs from its own artifact (the copies imagedef
    // checked), with the placeholder the task definition template uses.
    const api = outputs["api"];
    const deployActions: codepipeline.IAction[] = [
      new actions.CodeDeployEcsDeployAction({
        actionName: "api",
        deploymentGroup: codedeploy.EcsDeploymentGroup.fromEcsDeploymentGroupAttributes(this, "ApiDeploymentGroup", {
          application: codedeploy.EcsApplication.fromEcsApplicationName(this, "ApiApplication", "shop-api"),
          deploymentGroupName: "shop-api-blue-green",
        }),
        taskDefinitionTemplateFile: api.atPath("taskdef.json"),
        appSpecTemplateFile: api.atPath("appspec.yaml"),
        containerImageInputs: [{ input: api, taskDefinitionPlaceholder: "IMAGE1_NAME" }],
      }),
    ];
    if (imagedefDeploy) {
      deployActions.push(
        new actions.CodeBuildAction({
          actionName: "rolling",
          project: this.deployProject(props, imagedefImage, key, serviceArns, logGroupPrefix),
          input: outputs["ImagedefOut"],
        }),
      );
    } else {
      // CDK's EcsDeployAction grants its own role the ECS actions on every resource; this role
      // has them scoped as pipeline.yaml scopes them (the cluster, the two services, the task
      // roles), and is handed over immutable, so that CDK adds nothing to it.
      const role = this.ecsDeployActionRole(props, serviceArns, artifactBucket);
      for (const service of ROLLING) {
        deployActions.push(
          new actions.EcsDeployAction({
            actionName: service,
            service: ecs.BaseService.fromServiceArnWithCluster(
              this,
              `${service}Service`,
              arn("ecs", `service/${props.clusterName}/${service}`),
            ),
            imageFile: outputs[service].atPath("imagedefinitions.json"),
            role,
          }),
        );
      }
    }

    const pipeline = new codepipeline.Pipeline(this, "Pipeline", {
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket,
      stages: [
        { stageName: "Source", actions: sourceActions },
        { stageName: "Build", actions: [fanout] },
        { stageName: "Deploy", actions: deployActions },
      ],
    });
    // The pipeline waits for its role's policy; the role itself it already waits for through
    // RoleArn, which CDK's DependsOn repeats (cfn-lint W3005).
    const rolePolicy = pipeline.role.node.tryFindChild("DefaultPolicy")?.node.defaultChild;
    if (rolePolicy instanceof cdk.CfnResource) {
      (pipeline.node.defaultChild as cdk.CfnResource).addOverride("DependsOn", [this.getLogicalId(rolePolicy)]);
    }
    new events.Rule(this, "BatchImagesRule", {
      description: "A new version of the BatchImages zip (the bucket must send events to EventBridge)",
      eventPattern: {
        source: ["aws.s3"],
        detailType: ["Object Created"],
        detail: { bucket: { name: [props.batchImagesBucket] }, object: { key: [props.batchImagesKey] } },
      },
      targets: [new targets.CodePipeline(pipeline)],
    });
  }

  /** EcsAction: the role of the two ECS deploy actions, which the pipeline's role assumes. */
  private ecsDeployActionRole(
    props: ImagedefPipelineProps,
    serviceArns: string[],
    artifactBucket: s3.IBucket,
  ): iam.IRole {
    const arn = (resource: string): string => `arn:${this.partition}:ecs:${this.region}:${this.account}:${resource}`;
    const cluster = props.clusterName;
    const role = new iam.Role(this, "EcsDeployActionRole", {
      description: "The ECS (standard) deploy actions of web and batch",
      assumedBy: new iam.AccountRootPrincipal(),
    });
    const allow = (sid: string, actionNames: string[], resources: string[], conditions?: Record<string, unknown>) =>
      role.addToPolicy(new iam.PolicyStatement({ sid, actions: actionNames, resources, conditions }));
    allow("EcsDeployServices", ["ecs:DescribeServices", "ecs:UpdateService"], serviceArns);
    allow("EcsDeployTasks", ["ecs:DescribeTasks"], [arn(`task/${cluster}/*`)]);
    allow("EcsDeployListTasks", ["ecs:ListTasks"], ["*"], { ArnEquals: { "ecs:cluster": arn(`cluster/${cluster}`) } });
    allow("EcsDeployTaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"]);
    allow("EcsDeployTags", ["ecs:TagResource"], ["*"], { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } });
    allow("PassTaskRoles", ["iam:PassRole"], props.taskRoleArns, {
      StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
    });
    // The action reads its input artifact from the store (and its key).
    artifactBucket.grantRead(role);
    return iam.Role.fromRoleArn(this, "EcsDeployActionRoleImmutable", role.roleArn, { mutable: false });
  }

  /** ImagedefDeploy: `imagedef deploy --out` on the whole emit output, with README.md's `deploy`
   * rows scoped to the cluster, the two services and the task roles. */
  private deployProject(
    props: ImagedefPipelineProps,
    image: codebuild.IBuildImage,
    key: kms.IKey,
    serviceArns: string[],
    logGroupPrefix: string,
  ): codebuild.PipelineProject {
    const arn = (resource: string): string => `arn:${this.partition}:ecs:${this.region}:${this.account}:${resource}`;
    const cluster = props.clusterName;
    const deployTimeoutSeconds = props.deployTimeoutMinutes * 60 - 300;
    const project = new codebuild.PipelineProject(this, "DeployProject", {
      description: "imagedef deploy --out, for web and batch",
      buildSpec: codebuild.BuildSpec.fromObject({
        version: "0.2",
        phases: {
          build: {
            commands: [`imagedef deploy --out "$CODEBUILD_SRC_DIR" --timeout ${deployTimeoutSeconds}`],
          },
        },
      }),
      environment: { buildImage: image, computeType: codebuild.ComputeType.SMALL },
      encryptionKey: key,
      // Longer than imagedef deploy's own --timeout, so that imagedef reports a deployment still
      // running instead of CodeBuild stopping it mid-way.
      timeout: cdk.Duration.minutes(props.deployTimeoutMinutes),
      logging: {
        cloudWatch: {
          logGroup: new logs.LogGroup(this, "DeployLogGroup", {
            logGroupName: `${logGroupPrefix}deploy`,
            retention: logs.RetentionDays.ONE_MONTH,
            encryptionKey: key,
            removalPolicy: cdk.RemovalPolicy.DESTROY,
          }),
        },
      },
    });
    const allow = (sid: string, actionNames: string[], resources: string[], conditions?: Record<string, unknown>) =>
      project.addToRolePolicy(new iam.PolicyStatement({ sid, actions: actionNames, resources, conditions }));
    allow("DeployServices", ["ecs:DescribeServices", "ecs:UpdateService", "ecs:ListServiceDeployments"], serviceArns);
    allow(
      "DeployServiceDeployments",
      ["ecs:DescribeServiceDeployments"],
      ROLLING.map((s) => arn(`service-deployment/${cluster}/${s}/*`)),
    );
    allow(
      "DeployServiceRevisions",
      ["ecs:DescribeServiceRevisions"],
      ROLLING.map((s) => arn(`service-revision/${cluster}/${s}/*`)),
    );
    allow("DeployTasks", ["ecs:DescribeTasks"], [arn(`task/${cluster}/*`)]);
    allow("DeployListTasks", ["ecs:ListTasks"], ["*"], { ArnEquals: { "ecs:cluster": arn(`cluster/${cluster}`) } });
    allow("DeployTaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"]);
    allow("DeployTags", ["ecs:TagResource"], ["*"], { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } });
    allow("DeployPassRoles", ["iam:PassRole"], props.taskRoleArns, {
      StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
    });
    return project;
  }
}
