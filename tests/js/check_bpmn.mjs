// Reads a .bpmn file the way bpmn.io, bpmn-js and Camunda Modeler do (with bpmn-moddle) and
// prints what they would complain about, as JSON on stdout:
//
//   warnings              messages bpmn-moddle gives while reading (unknown elements or
//                         attributes, unparsable content, unresolved references)
//   rootElements          the definitions' root elements: [{type, id, name}]
//   flowElements          how many flow elements (tasks, events, gateways, flows) there are,
//                         sub-processes included
//   flowElementTypes      how many of each type: {"bpmn:Task": 8, "bpmn:ParallelGateway": 2, ...}
//   missingDi             ids of flow elements without a BPMNShape/BPMNEdge; bpmn-js draws
//                         only what the diagram places, and drops the rest without a word
//   unresolvedReferences  [{element, property, id}] for references to ids nowhere in the file
//   diagramProblems       further reasons a modeller would draw the file wrongly or not at
//                         all (no diagram, a shape without a size, an edge without two points,
//                         two shapes for one element)
//
// Exit status: 0 when the file was read (whatever it reports), 1 when bpmn-moddle could not
// read it at all (then the JSON holds {error, warnings}), 2 on bad usage.
//
// Usage: node tests/js/check_bpmn.mjs model.bpmn

import { readFile } from 'node:fs/promises';

import { BpmnModdle } from 'bpmn-moddle';

const describe = (element) => (element ? element.id || element.$type : null);

function flowElementsOf(container, found = []) {
  for (const element of container.flowElements || []) {
    found.push(element);
    if (element.flowElements) {
      flowElementsOf(element, found);
    }
  }
  return found;
}

function checkDiagrams(definitions, problems) {
  const diagrams = definitions.diagrams || [];
  const drawn = new Map();
  if (diagrams.length === 0) {
    problems.push('no BPMNDiagram: a modeller has nothing to draw');
  }
  for (const diagram of diagrams) {
    const plane = diagram.plane;
    if (!plane) {
      problems.push(`diagram ${describe(diagram)} has no BPMNPlane`);
      continue;
    }
    const root = plane.bpmnElement;
    if (!root) {
      problems.push(`plane ${describe(plane)} refers to no process or collaboration`);
    } else if (!['bpmn:Process', 'bpmn:Collaboration', 'bpmn:SubProcess'].includes(root.$type)) {
      problems.push(`plane ${describe(plane)} refers to a ${root.$type}, not a process or collaboration`);
    }
    for (const di of plane.planeElement || []) {
      const element = di.bpmnElement;
      if (!element) {
        problems.push(`${di.$type} ${describe(di)} refers to no element`);
        continue;
      }
      if (drawn.has(element)) {
        problems.push(`${element.id} has more than one shape or edge (${describe(drawn.get(element))}, ${describe(di)})`);
      }
      drawn.set(element, di);
      if (di.$instanceOf('bpmndi:BPMNShape')) {
        const b = di.bounds;
        if (!b || !(b.width > 0) || !(b.height > 0) || !Number.isFinite(b.x) || !Number.isFinite(b.y)) {
          problems.push(`shape ${describe(di)} of ${element.id} has no position and size`);
        }
      } else if (di.$instanceOf('bpmndi:BPMNEdge')) {
        const points = di.waypoint || [];
        if (points.length < 2 || !points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))) {
          problems.push(`edge ${describe(di)} of ${element.id} has fewer than two waypoints`);
        }
      }
    }
  }
  return drawn;
}

async function main() {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write('usage: node check_bpmn.mjs FILE.bpmn\n');
    return 2;
  }
  const xml = await readFile(file, 'utf8');
  const moddle = new BpmnModdle();
  let result;
  try {
    result = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (err) {
    const warnings = (err.warnings || []).map((w) => w.message);
    process.stdout.write(JSON.stringify({ file, error: err.message, warnings }, null, 2) + '\n');
    process.stderr.write(`${file}: bpmn-moddle cannot read it: ${err.message}\n`);
    return 1;
  }
  const { rootElement: definitions, references, elementsById, warnings } = result;

  const rootElements = (definitions.rootElements || []).map((e) => ({
    type: e.$type,
    id: e.id ?? null,
    name: e.name ?? null,
  }));
  const flowElements = [];
  for (const root of definitions.rootElements || []) {
    if (root.$instanceOf('bpmn:FlowElementsContainer')) {
      flowElementsOf(root, flowElements);
    }
  }
  const diagramProblems = [];
  const drawn = checkDiagrams(definitions, diagramProblems);
  const flowElementTypes = {};
  for (const element of flowElements) {
    flowElementTypes[element.$type] = (flowElementTypes[element.$type] || 0) + 1;
  }
  const missingDi = flowElements.filter((e) => !drawn.has(e)).map((e) => e.id);
  const unresolvedReferences = references
    .filter((r) => !(r.id in elementsById))
    .map((r) => ({ element: describe(r.element), property: r.property, id: r.id }));

  const report = {
    file,
    warnings: warnings.map((w) => w.message),
    rootElements,
    flowElements: flowElements.length,
    flowElementTypes,
    missingDi,
    unresolvedReferences,
    diagramProblems,
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return 0;
}

process.exitCode = await main();
