package stacks

import "hash/fnv"

// FunctionsPerStack caps the functions in one stack. A function is at most 5 resources
// (function, role, policy, log group, and a managed policy where one is used) and 1
// output, so 80 functions stay well under CloudFormation's 500 resources and 200 outputs
// per stack (AWS CloudFormation User Guide, "CloudFormation quotas"), leaving room for
// what a later change adds.
const FunctionsPerStack = 80

// Shard spreads names over the fewest stacks, a power of two, that keep every stack at
// perStack names or fewer, and returns the names of each stack. A name's stack depends
// only on the name and the number of stacks: adding or removing a function moves no
// other function until the number of stacks doubles, when about half of them move to the
// new stacks.
func Shard(names []string, perStack int) [][]string {
	for n := 1; ; n *= 2 {
		shards := make([][]string, n)
		fits := true
		for _, name := range names {
			i := ShardOf(name, n)
			shards[i] = append(shards[i], name)
			fits = fits && len(shards[i]) <= perStack
		}
		if fits {
			return shards
		}
	}
}

// ShardOf returns the stack, of n, that holds the function name.
func ShardOf(name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}
