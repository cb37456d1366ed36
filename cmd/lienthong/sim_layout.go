package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lienthong/lienthong/envelope"
)

// The sim's nation: 30 ministries (G01…G30) and 34 provinces (H01…H34),
// the top-level units, each with agencies under it. A unit's k-th agency
// under it (k from 1) is in group k/100+1 of the unit's second level: the
// group's own agency (000.00.<group>.<unit>) and 99 under it
// (000.<nn>.<group>.<unit>). The hosted agencies of a unit take its first
// groups, the directory's other entries (hosted by no running gateway)
// the groups after them, so that a gateway hosting a unit's agencies can
// be delegated their groups whole (gateway.subtrees), as a province's
// gateway is its province, and never a group that holds an agency it does
// not host.
const (
	simGroup  = 100 // agencies of a second-level group, its own included
	simGroups = 99  // second-level groups of a unit (two digits, 01…99)
)

// simUnit is a top-level unit of the sim: its code and what kind it is.
type simUnit struct {
	code, name string
}

// simUnits returns the 64 top-level units: the ministries, then the
// provinces.
func simUnits() []simUnit {
	var out []simUnit
	for i := 1; i <= 30; i++ {
		out = append(out, simUnit{fmt.Sprintf("000.00.00.G%02d", i), fmt.Sprintf("Bộ số %d", i)})
	}
	for p := 1; p <= 34; p++ {
		out = append(out, simUnit{fmt.Sprintf("000.00.00.H%02d", p), fmt.Sprintf("UBND tỉnh số %d", p)})
	}
	return out
}

// simUnder returns the code and name of a unit's k-th agency under it.
func simUnder(u simUnit, k int) (code, name string) {
	j := k - 1
	group, nn := j/simGroup+1, j%simGroup
	level1 := u.code[len("000.00.00."):]
	return fmt.Sprintf("000.%02d.%02d.%s", nn, group, level1), fmt.Sprintf("Cơ quan %d thuộc %s", k, u.name)
}

// simLayout is who hosts what in the sim: the hosted agencies by gateway
// (the first hosting a quarter of them, all in one province, as a
// province's gateway its communes; the others the rest in tree order),
// the subtrees delegated to each gateway, and the directory's other
// entries.
type simLayout struct {
	hosted   [][]simAgency           // by gateway index; simAgency.g is left nil
	subtrees [][]envelope.AgencyCode // by gateway index: codes delegated with all under them
	extra    []simAgency             // in the directory, hosted by no running gateway
}

// newSimLayout lays n hosted agencies out on g gateways, with extra more
// entries in the directory.
func newSimLayout(n, g, extra int) (*simLayout, error) {
	units := simUnits()
	first := max(1, n/4)
	if g == 1 {
		first = n
	}
	// Hosted agencies by unit: the first unit of the provinces takes the
	// first gateway's, the others share the rest.
	const firstUnit = 30 // H01
	hostedIn := make([]int, len(units))
	hostedIn[firstUnit] = first
	var others []int
	for i := range units {
		if i != firstUnit {
			others = append(others, i)
		}
	}
	for i := range n - first {
		hostedIn[others[i%len(others)]]++
	}
	// The other entries in the other units: the first gateway's province
	// is wholly on lienthong, delegated to it whole.
	extraIn := make([]int, len(units))
	for i := range extra {
		extraIn[others[i%len(others)]]++
	}

	// Every code of the directory, with its owner: a gateway's index, or
	// -1 for an entry hosted elsewhere.
	type node struct {
		a     simAgency
		owner int
	}
	var nodes []node
	l := &simLayout{hosted: make([][]simAgency, g), subtrees: make([][]envelope.AgencyCode, g)}
	var rest []simAgency // the hosted agencies of the gateways after the first, in tree order
	for i, u := range units {
		h, e := hostedIn[i], extraIn[i]
		if h+e == 0 {
			continue
		}
		groupsHosted := 0
		if h > 1 {
			groupsHosted = (h - 2 + simGroup) / simGroup // the unit itself is one of h
		}
		if groupsHosted+(e+simGroup-1)/simGroup > simGroups {
			return nil, fmt.Errorf("sim: %d hosted and %d other agencies do not fit under %s (at most %d)", h, e, u.code, simGroups*simGroup)
		}
		var own []simAgency
		if h > 0 {
			own = append(own, simAgency{code: u.code, name: u.name})
		}
		for k := 1; k < h; k++ {
			code, name := simUnder(u, k)
			own = append(own, simAgency{code: code, name: name})
		}
		if i == firstUnit {
			l.hosted[0] = own
		} else {
			rest = append(rest, own...)
		}
		// The unit's own code is hosted when any agency of it is; if
		// none is, it is one of the other entries.
		if h == 0 {
			l.extra = append(l.extra, simAgency{code: u.code, name: u.name})
			e--
		}
		for k := range e {
			code, name := simUnder(u, groupsHosted*simGroup+1+k)
			l.extra = append(l.extra, simAgency{code: code, name: name})
		}
	}
	if g > 1 {
		l.share(rest, g-1)
	}
	for gi, hs := range l.hosted {
		for _, a := range hs {
			nodes = append(nodes, node{a, gi})
		}
	}
	for _, a := range l.extra {
		nodes = append(nodes, node{a, -1})
	}

	// Delegate to a gateway every subtree it hosts whole, the largest
	// first: in the order of the codes' subject tokens a subtree is the
	// run of codes that follow its root and begin with its tokens.
	codes := make([]envelope.AgencyCode, len(nodes))
	tokens := make([]string, len(nodes))
	for i := range nodes {
		c, err := envelope.ParseAgencyCode(nodes[i].a.code, envelope.CodeStrict)
		if err != nil {
			return nil, fmt.Errorf("sim: code %s: %w", nodes[i].a.code, err)
		}
		codes[i], tokens[i] = c, c.Tokens()
	}
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(tokens[a], tokens[b]) })
	for i := 0; i < len(order); {
		root := order[i]
		end := i + 1
		for end < len(order) && strings.HasPrefix(tokens[order[end]], tokens[root]+".") {
			end++
		}
		owner := nodes[root].owner
		whole := owner >= 0 && end-i > 1 && !slices.ContainsFunc(order[i:end], func(j int) bool { return nodes[j].owner != owner })
		if whole {
			l.subtrees[owner] = append(l.subtrees[owner], codes[root])
			i = end
			continue
		}
		i++
	}
	return l, nil
}

// share lays the hosted agencies rest (in tree order) out on gateways
// 1…g: in contiguous parts of the tree of about the same size, cut
// between a unit's own agency and its groups and between groups, as
// gateways are given whole units of the administration; or, when there
// are too few groups for every gateway to have one, in equal parts.
func (l *simLayout) share(rest []simAgency, g int) {
	// The blocks: a unit's own agency, or a second-level group with
	// all under it; the codes of rest come unit by unit, group by group.
	var starts []int
	for i, a := range rest {
		if i == 0 || simBlock(a.code) != simBlock(rest[i-1].code) {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(rest))
	parts := make([][]simAgency, g)
	for b := 0; b+1 < len(starts); b++ {
		mid := (starts[b] + starts[b+1]) / 2
		p := min(g-1, mid*g/len(rest))
		parts[p] = append(parts[p], rest[starts[b]:starts[b+1]]...)
	}
	if slices.ContainsFunc(parts, func(p []simAgency) bool { return len(p) == 0 }) {
		per, more := len(rest)/g, len(rest)%g
		for i := range g {
			k := per
			if i < more {
				k++
			}
			parts[i], rest = rest[:k], rest[k:]
		}
	}
	copy(l.hosted[1:], parts)
}

// simBlock is the block of the tree a sim code is in: its unit and its
// second-level group ("H05.03"), or the unit alone for the unit's own
// code.
func simBlock(code string) string {
	// ddd.dd.GG.Xnn: the unit is Xnn, the group GG.
	unit, group := code[len("000.00.00."):], code[len("000.00."):len("000.00.00")]
	if group == "00" {
		return unit
	}
	return unit + "." + group
}
