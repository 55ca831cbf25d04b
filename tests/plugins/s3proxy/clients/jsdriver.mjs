// Drive the AWS SDK for JavaScript v3 through the client-matrix steps; print one JSON result per step.
//
// Usage: node jsdriver.mjs PLAN.json, with STOWAGE_AWS_SDK_JS naming the folder that
// scripts/install-test-deps.sh installed the SDK into (outside the repository). The SDK runs with its
// defaults (stream uploads go out as aws-chunked with a CRC trailer) except path-style addressing,
// 5 MiB parts for the multipart upload, and the test CA for HTTPS.
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.STOWAGE_AWS_SDK_JS, "node_modules") + "/");
const s3sdk = require("@aws-sdk/client-s3");
const { Upload } = require("@aws-sdk/lib-storage");
const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");
const sdkRoot = join(process.env.STOWAGE_AWS_SDK_JS, "node_modules", "@aws-sdk", "client-s3");
const { version } = JSON.parse(readFileSync(join(sdkRoot, "package.json"), "utf8"));

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const MiB = 1024 * 1024;
const { bucket, prefix, out } = plan;
const [first, last] = plan.range;

const client = new s3sdk.S3Client({
  endpoint: plan.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: { accessKeyId: plan.access_key, secretAccessKey: plan.secret_key },
  ...(plan.ca_file ? { requestHandler: { httpsAgent: new https.Agent({ ca: readFileSync(plan.ca_file) }) } } : {}),
});

async function download(key, file) {
  const response = await client.send(new s3sdk.GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
  writeFileSync(join(out, file), await response.Body.transformToByteArray());
}

const steps = {
  "put-small": () =>
    client.send(
      new s3sdk.PutObjectCommand({ Bucket: bucket, Key: prefix + "small.bin", Body: createReadStream(plan.small) }),
    ),
  "put-multipart": () =>
    new Upload({
      client,
      partSize: 5 * MiB,
      queueSize: 2,
      params: { Bucket: bucket, Key: prefix + "big.bin", Body: createReadStream(plan.big) },
    }).done(),
  list: async () => {
    const listed = await client.send(new s3sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return { keys: (listed.Contents ?? []).map((item) => item.Key) };
  },
  get: async () => {
    await download("small.bin", "small.bin");
    await download("big.bin", "big.bin");
  },
  range: async () => {
    const response = await client.send(
      new s3sdk.GetObjectCommand({ Bucket: bucket, Key: prefix + "small.bin", Range: `bytes=${first}-${last}` }),
    );
    writeFileSync(join(out, "range.bin"), await response.Body.transformToByteArray());
  },
  copy: () =>
    client.send(
      new s3sdk.CopyObjectCommand({ Bucket: bucket, Key: prefix + "copy.bin", CopySource: `${bucket}/${prefix}small.bin` }),
    ),
  delete: () => client.send(new s3sdk.DeleteObjectCommand({ Bucket: bucket, Key: prefix + "doomed.bin" })),
  presign: async () => ({
    url: await getSignedUrl(client, new s3sdk.GetObjectCommand({ Bucket: bucket, Key: prefix + "small.bin" }), {
      expiresIn: 900,
    }),
  }),
};

const results = {};
for (const [name, step] of Object.entries(steps)) {
  try {
    const value = await step();
    results[name] = { ok: true, ...(name === "list" || name === "presign" ? value : {}) };
  } catch (error) {
    results[name] = { ok: false, error: `${error.name}: ${error.message}` };
  }
}
console.log(JSON.stringify({ version: `aws-sdk-js ${version}`, steps: results }));
client.destroy();
