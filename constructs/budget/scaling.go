package budget

import (
	"fmt"
	"math"
)

// Scaling are the ways, besides its reserved concurrency, in which a function's
// execution environments come to hold database connections: environments that
// Lambda keeps initialized (provisioned concurrency), and an SQS queue that feeds
// the function. Neither changes the function's share of the connections: both
// live inside its reserved concurrency, which the budget checks.
type Scaling struct {
	// ProvisionedConcurrency is how many of the function's execution
	// environments Lambda keeps initialized. It must not exceed the function's
	// reserved concurrency. Default: 0 (none).
	ProvisionedConcurrency int `json:"provisionedConcurrency,omitempty"`
	// MemoryMB is the function's memory, which prices its provisioned
	// concurrency (128 to 10240). Default: 128, Lambda's default.
	MemoryMB int `json:"memoryMB,omitempty"`
	// Architecture is the function's instruction set, which prices its
	// provisioned concurrency: ArchitectureArm64 or ArchitectureX86.
	// Default: ArchitectureX86, Lambda's default.
	Architecture string `json:"architecture,omitempty"`
	// QueueConsumer says an SQS event source mapping feeds the function, whose
	// MaximumConcurrency is the function's reserved concurrency (see
	// QueueMaximumConcurrency). Default: false.
	QueueConsumer bool `json:"queueConsumer,omitempty"`
}

// ScalingAllocation is what a function's Scaling comes to in the budget.
type ScalingAllocation struct {
	// ProvisionedConcurrency is Scaling.ProvisionedConcurrency.
	ProvisionedConcurrency int `json:"provisionedConcurrency,omitempty"`
	// ProvisionedMonthlyUSD is what keeping the provisioned environments
	// initialized costs in a month (ProvisionedMonthlyUSD), before requests and
	// duration.
	ProvisionedMonthlyUSD float64 `json:"provisionedMonthlyUSD,omitempty"`
	// QueueMaximumConcurrency is the MaximumConcurrency of the SQS event source
	// mapping that feeds the function, 0 when none does.
	QueueMaximumConcurrency int `json:"queueMaximumConcurrency,omitempty"`
}

// ScalingTotals sum the functions' ScalingAllocation.
type ScalingTotals struct {
	TotalProvisionedConcurrency int     `json:"totalProvisionedConcurrency,omitempty"`
	ProvisionedMonthlyUSD       float64 `json:"provisionedMonthlyUSD,omitempty"`
}

// The architectures Scaling.Architecture takes, as Lambda names them.
const (
	ArchitectureX86   = "x86_64"
	ArchitectureArm64 = "arm64"
)

// Lambda limits and prices that Scaling rests on.
const (
	// Function memory is 128 to 10,240 MB, 128 by default: AWS Lambda Developer
	// Guide, "Configure Lambda function memory" and "Lambda quotas".
	minMemoryMB     = 128
	maxMemoryMB     = 10240
	defaultMemoryMB = 128
	// Provisioned concurrency costs per GB-second that it is configured, whether
	// used or not, in US East (N. Virginia): 0.0000041667 USD on x86 and
	// 0.0000033334 USD on Arm (AWS Lambda pricing, "Provisioned Concurrency
	// Pricing", checked November 2026). Lambda prices a GB as 1,024 MB.
	provisionedUSDPerGBSecondX86   = 0.0000041667
	provisionedUSDPerGBSecondArm64 = 0.0000033334
	// hoursPerMonth is the month the README's cost tables use.
	hoursPerMonth = 730
	// SQS event source mappings take a MaximumConcurrency of 2 to 1,000 (AWS
	// CloudFormation, AWS::Lambda::EventSourceMapping ScalingConfig,
	// MaximumConcurrency: minimum 2, maximum 1000).
	MinQueueMaximumConcurrency = 2
	MaxQueueMaximumConcurrency = 1000
)

// ProvisionedMonthlyUSD returns what keeping n execution environments of
// memoryMB (0 means 128) initialized costs in a month of 730 hours in US East
// (N. Virginia), on architecture (ArchitectureArm64, or else x86): Lambda bills
// provisioned concurrency per GB-second whether it is used or not; requests and
// duration come on top.
func ProvisionedMonthlyUSD(n, memoryMB int, architecture string) float64 {
	if memoryMB == 0 {
		memoryMB = defaultMemoryMB
	}
	price := provisionedUSDPerGBSecondX86
	if architecture == ArchitectureArm64 {
		price = provisionedUSDPerGBSecondArm64
	}
	usd := float64(n) * float64(memoryMB) / 1024 * hoursPerMonth * 3600 * price
	return math.Round(usd*100) / 100
}

// QueueMaximumConcurrency returns the MaximumConcurrency to give the SQS event
// source mapping of a function with the given reserved concurrency: that
// concurrency, so that Lambda polls no more batches than the function may run
// (AWS Lambda Developer Guide, "Configuring scaling behavior for SQS event source
// mappings": do not set maximum concurrency above the function's reserved
// concurrency, or Lambda may throttle its messages), at most 1,000.
func QueueMaximumConcurrency(reservedConcurrency int) int {
	return min(reservedConcurrency, MaxQueueMaximumConcurrency)
}

// validateScaling reports invalid Scaling settings.
func validateScaling(in []Function, errs *problems) bool {
	n := len(*errs)
	for i, f := range in {
		label := fmt.Sprintf("function %q", f.Name)
		if f.Name == "" {
			label = fmt.Sprintf("function #%d", i+1)
		}
		if f.ProvisionedConcurrency < 0 {
			errs.add("%s: {ProvisionedConcurrency} %d is negative: use 0 (none) or more", label, f.ProvisionedConcurrency)
		}
		if f.MemoryMB != 0 && (f.MemoryMB < minMemoryMB || f.MemoryMB > maxMemoryMB) {
			errs.add("%s: {MemorySize} %d is out of range: Lambda takes %d to %d MB", label, f.MemoryMB, minMemoryMB, maxMemoryMB)
		}
		switch f.Architecture {
		case "", ArchitectureX86, ArchitectureArm64:
		default:
			errs.add("%s: architecture %q is not Lambda's: use %q or %q", label, f.Architecture, ArchitectureX86, ArchitectureArm64)
		}
	}
	return len(*errs) == n
}

// scale fills in the functions' ScalingAllocation and the totals, and reports
// provisioned concurrency above a function's reserved concurrency and a queue
// consumer whose share cannot feed an event source mapping. in are the
// functions as given, in the order of r.Functions.
func scale(r *Result, in []Function, errs *problems) {
	for i := range r.Functions {
		a, f := &r.Functions[i], in[i]
		if a.ReservedConcurrency == 0 {
			continue // reported: the function could never run
		}
		if pc := f.ProvisionedConcurrency; pc > 0 {
			a.ProvisionedConcurrency = pc
			a.ProvisionedMonthlyUSD = ProvisionedMonthlyUSD(pc, f.MemoryMB, f.Architecture)
			r.TotalProvisionedConcurrency += pc
			r.ProvisionedMonthlyUSD += a.ProvisionedMonthlyUSD
			if pc > a.ReservedConcurrency {
				// Provisioned environments come out of the function's reserved
				// concurrency: Lambda refuses more (AWS Lambda Developer Guide,
				// "Configuring provisioned concurrency").
				errs.add("function %q: {ProvisionedConcurrency} %d exceeds its reserved concurrency %d (%s): Lambda keeps "+
					"provisioned environments inside a function's reserved concurrency and refuses more; lower "+
					"{ProvisionedConcurrency} to at most %d, or %s", a.Name, pc, a.ReservedConcurrency, a.LimitedBy,
					a.ReservedConcurrency, raiseShare(a, pc))
			}
		}
		if f.QueueConsumer {
			a.QueueMaximumConcurrency = QueueMaximumConcurrency(a.ReservedConcurrency)
			if a.QueueMaximumConcurrency < MinQueueMaximumConcurrency {
				errs.add("function %q: an SQS queue feeds it, and its event source mapping's MaximumConcurrency, which is "+
					"the function's reserved concurrency, must be at least %d (AWS::Lambda::EventSourceMapping ScalingConfig), "+
					"but the budget gives it %d (%s): %s", a.Name, MinQueueMaximumConcurrency, a.ReservedConcurrency,
					a.LimitedBy, raiseShare(a, MinQueueMaximumConcurrency))
			}
		}
	}
	r.ProvisionedMonthlyUSD = math.Round(r.ProvisionedMonthlyUSD*100) / 100
}

// raiseShare says how to give a function the reserved concurrency it needs.
func raiseShare(a *Allocation, need int) string {
	if a.Fixed {
		return fmt.Sprintf("raise its fixed {ReservedConcurrency} to %d or more", need)
	}
	fix := fmt.Sprintf("raise its {Weight}, fix its {ReservedConcurrency} at %d or more", need)
	if a.LimitedBy == LimitedByConnections {
		fix += ", lower its {ConnectionsPerEnvironment}, or raise max connections (choose a larger {InstanceClass} or raise {MaxCapacity})"
	} else {
		fix += ", or raise {AccountConcurrency}"
	}
	return fix
}
