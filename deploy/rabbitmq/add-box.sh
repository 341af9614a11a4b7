#!/bin/sh
# Give one cold box its own RabbitMQ user, allowed to publish (MQTT) only to its
# own telemetry topic and to subscribe (client id = box id) only to its own
# resend topic (sequence audit downlink). Usage: add-box.sh <box-id> <password> [topic-prefix]
# (password from your secret store; run where rabbitmqctl reaches the cluster).
# A box id may contain dots: the plugin turns the topic's '/' into '.', so the
# pattern escapes every dot and a box cannot publish as another.
set -eu
box="$1"
password="$2"
prefix="${3:-rxdispatch/v1}"
key=$(printf '%s.boxes.%s.telemetry' "$(printf '%s' "$prefix" | tr / .)" "$box" \
  | sed 's/[].[^$*+?(){}|\\-]/\\&/g')
resend=$(printf '%s.boxes.%s.resend' "$(printf '%s' "$prefix" | tr / .)" "$box" \
  | sed 's/[].[^$*+?(){}|\\-]/\\&/g')
# the box subscribes (client id = box id) to its own resend topic only: the MQTT
# plugin's subscription queue is mqtt-subscription-<client id>qos<0|1>
queue="mqtt-subscription-$(printf '%s' "$box" | sed 's/[].[^$*+?(){}|\\-]/\\&/g')qos[01]"
rabbitmqctl add_user "$box" "$password"
rabbitmqctl set_permissions -p / "$box" "^${queue}\$" "^(amq\\.topic|${queue})\$" \
  "^(amq\\.topic|${queue})\$"
rabbitmqctl set_topic_permissions -p / "$box" amq.topic "^${key}\$" "^${resend}\$"
