// Driven by mqttjs_test.go: node publish.js PUB_PORT SUB_PORT TOPIC
//
// Subscribes on 127.0.0.1:SUB_PORT (MQTT 5, QoS 2), then publishes on 127.0.0.1:PUB_PORT one
// QoS 1 and one QoS 2 message with user properties, and prints one JSON line: the publish
// callbacks' outcomes, the messages received with their user properties, and every client error.
// Exits 0 when both publishes were acknowledged without error and both messages arrived;
// 1 otherwise (including any 'error' event such as "Invalid puback reason code"); 2 after 15 s.
'use strict';
const mqtt = require('mqtt');

const [pubPort, subPort, topic] = process.argv.slice(2);
if (!pubPort || !subPort || !topic) {
  console.error('usage: node publish.js PUB_PORT SUB_PORT TOPIC');
  process.exit(64);
}

const result = { published: [], received: [], errors: [] };
const userProperties = { first: 'one', multi: ['a', 'b'], last: 'z' };
let finished = false;

function finish(code) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(result));
  sub.end(true);
  pub.end(true);
  process.exit(code);
}
setTimeout(() => {
  result.errors.push('timeout after 15 s');
  finish(2);
}, 15000).unref();

function connect(port, clientId) {
  const c = mqtt.connect({
    host: '127.0.0.1', port: Number(port), protocolVersion: 5, clientId,
    clean: true, reconnectPeriod: 0, connectTimeout: 5000,
  });
  c.on('error', (err) => {
    result.errors.push(`${clientId}: ${err.message}`);
    finish(1);
  });
  return c;
}

function done() {
  if (result.published.length === 2 && result.received.length === 2) {
    const ok = result.published.every((p) => p.error === null) && result.errors.length === 0;
    finish(ok ? 0 : 1);
  }
}

const sub = connect(subPort, 'mqttjs-sub');
const pub = connect(pubPort, 'mqttjs-pub');
sub.on('message', (t, payload, packet) => {
  result.received.push({
    topic: t, payload: payload.toString(), qos: packet.qos,
    userProperties: (packet.properties && packet.properties.userProperties) || null,
  });
  done();
});

sub.on('connect', () => {
  sub.subscribe(topic, { qos: 2 }, (err, granted) => {
    if (err) {
      result.errors.push(`subscribe: ${err.message}`);
      finish(1);
      return;
    }
    const publishOnce = () => {
      for (const qos of [1, 2]) {
        pub.publish(topic, `mqttjs qos ${qos}`, { qos, properties: { userProperties } }, (perr, packet) => {
          result.published.push({ qos, error: perr ? perr.message : null });
          if (perr) finish(1);
          done();
        });
      }
    };
    if (pub.connected) publishOnce(); else pub.once('connect', publishOnce);
  });
});
