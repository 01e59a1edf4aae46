/**
 * kafkajs partition assigners for tests that need a group to misbehave.
 */
import { AssignerProtocol, PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * kafkajs' round robin, except that the first assignment it computes gives
 * every member nothing, as a leader does when its metadata does not list the
 * partitions of fresh topics yet ("Setting empty assignments" in the broker
 * log). The count spans assigner instances: kafkajs builds new ones on every
 * (re)start of a consumer.
 */
export function emptyFirstAssignment(): { assigner: PartitionAssigner; assignments: () => number } {
  let assignments = 0;
  const assigner: PartitionAssigner = (cfg) => {
    const rr = PartitionAssigners.roundRobin(cfg);
    return {
      name: rr.name,
      version: rr.version,
      protocol: (subscription) => rr.protocol(subscription),
      async assign(group) {
        if (assignments++ > 0) return rr.assign(group);
        const empty = AssignerProtocol.MemberAssignment.encode({ version: rr.version, assignment: {}, userData: Buffer.alloc(0) });
        return group.members.map((m) => ({ memberId: m.memberId, memberAssignment: empty }));
      },
    };
  };
  return { assigner, assignments: () => assignments };
}
